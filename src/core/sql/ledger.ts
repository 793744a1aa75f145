import type {Knex} from 'knex'

import {WbcError} from '../errors.js'

export const LEDGER_TABLE = 'wbc_flush_ledger'
export const FENCE_TABLE = 'wbc_fence'

/** A stale lease holder tried to commit after a newer holder did. Its transaction was rolled back. */
export class FencedOut extends WbcError {
  constructor(mine: number, current: number) {
    super('FENCED_OUT', `this flusher's lease (fence ${mine}) was superseded by fence ${current}; its transaction was rolled back`, {
      exitCode: 4,
      hint: 'Another process took the flush lease; it finishes the batches in flight.',
    })
  }
}

export interface LedgerRange {
  lo: number
  hi: number
  outcome: 'applied' | 'dead'
}

const ready = new WeakMap<Knex, Map<string, Promise<void>>>()

/**
 * Creates `wbc_flush_ledger` and `wbc_fence` on first use, and the fence row of this state (its
 * key prefix): idempotent, safe under races, done once per connection and prefix.
 */
export function ensureLedger(knex: Knex, fenceName: string): Promise<void> {
  let names = ready.get(knex)
  if (!names) {
    names = new Map()
    ready.set(knex, names)
  }
  let pending = names.get(fenceName)
  if (!pending) {
    pending = createTables(knex, fenceName).catch((error) => {
      names.delete(fenceName)
      throw error
    })
    names.set(fenceName, pending)
  }
  return pending
}

/** The highest fence that committed for this state. */
export async function storedFence(knex: Knex, fenceName: string): Promise<number> {
  const row = await knex(FENCE_TABLE).where({name: fenceName}).first('fence')
  return Number(row?.fence ?? 0)
}

async function createTables(knex: Knex, fenceName: string): Promise<void> {
  const create = async (name: string, build: (t: Knex.CreateTableBuilder) => void) => {
    if (await knex.schema.hasTable(name)) return
    try {
      await knex.schema.createTable(name, build)
    } catch (error) {
      if (!(await knex.schema.hasTable(name))) throw error // Lost a race with another process: fine.
    }
  }
  await create(LEDGER_TABLE, (t) => {
    t.string('batch_id', 80).notNullable()
    t.integer('lo').notNullable()
    t.integer('hi').notNullable()
    t.string('outcome', 16).notNullable()
    t.bigInteger('applied_at').notNullable()
    t.primary(['batch_id', 'lo'])
    t.index(['applied_at'])
  })
  await create(FENCE_TABLE, (t) => {
    t.string('name', 64).primary()
    t.bigInteger('fence').notNullable()
    t.bigInteger('seq').notNullable()
  })
  await knex(FENCE_TABLE).insert({name: fenceName, fence: 0, seq: 0}).onConflict('name').ignore()
}

/**
 * First statement of every flush transaction: takes the fence row's lock (serialising flush
 * transactions) and refuses a holder whose fence is older than one that already committed.
 */
export async function checkFence(trx: Knex.Transaction, fenceName: string, fence: number): Promise<void> {
  const updated = await trx(FENCE_TABLE).where({name: fenceName}).andWhere('fence', '<=', fence).update({fence, seq: trx.raw('seq + 1')})
  if (updated === 0) {
    const row = await trx(FENCE_TABLE).where({name: fenceName}).first('fence')
    throw new FencedOut(fence, Number(row?.fence ?? -1))
  }
}

export async function ledgerRanges(db: Knex | Knex.Transaction, batchId: string): Promise<LedgerRange[]> {
  const rows = await db(LEDGER_TABLE).where({batch_id: batchId}).select('lo', 'hi', 'outcome')
  return rows.map((row) => ({lo: Number(row.lo), hi: Number(row.hi), outcome: row.outcome === 'dead' ? 'dead' : 'applied'}))
}

export async function recordRange(trx: Knex.Transaction, batchId: string, range: LedgerRange): Promise<void> {
  await trx(LEDGER_TABLE).insert({batch_id: batchId, lo: range.lo, hi: range.hi, outcome: range.outcome, applied_at: Date.now()})
}

/** Ledger rows are only needed while their batch may still be in flight; a week is ample. */
export async function pruneLedger(knex: Knex, olderThanMs = 7 * 24 * 3600 * 1000): Promise<number> {
  return knex(LEDGER_TABLE).where('applied_at', '<', Date.now() - olderThanMs).delete()
}
