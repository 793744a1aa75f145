import type {Knex} from 'knex'

import {ExitCode, WbcError} from '../errors.js'

export const LEDGER_TABLE = 'wbc_flush_ledger'
export const FENCE_TABLE = 'wbc_fence'

/** What a flush transaction's fence check compared, for the reader of a FencedOut. */
export interface FenceRow {
  fence: number
  /** Token of the lease that committed last (null for rows written before holders were recorded). */
  holder: string | null
  /** Epoch marker of the state store that committed last (null until a redis-driver store committed). */
  epoch: string | null
  /**
   * The highest claim mark committed: the store's fence counter right after it claimed a batch
   * that was then committed (null until such a commit). A store whose counter is below it was
   * restored from a snapshot taken before that claim: it holds that batch's writes as pending.
   */
  mark: number | null
  seq: number
}

/** A stale lease holder tried to commit after a newer holder did. Its transaction was rolled back. */
export class FencedOut extends WbcError {
  constructor(
    readonly mine: number,
    readonly current: number,
    readonly row: FenceRow | null = null,
  ) {
    super('FENCED_OUT', `this flusher's lease (fence ${mine}) was superseded by fence ${current}; its transaction was rolled back`, {
      exitCode: ExitCode.leaseHeld,
      hint: 'Another process took the flush lease; it finishes the batches in flight.',
    })
  }
}

export interface LedgerRange {
  lo: number
  hi: number
  outcome: 'applied' | 'dead'
}

/** The lease a flush transaction commits under, and the epoch of its state store (redis driver). */
export interface Committer {
  fence: number
  token: string
  epoch: string | null
  /** The claim mark of the batch committed (the store's fence counter after its claim; at least `fence`). */
  mark: number
}

const ready = new WeakMap<Knex, Map<string, Promise<void>>>()

/**
 * Creates `wbc_flush_ledger` and `wbc_fence` on first use (adding the columns later versions
 * need to tables an older version created), and the fence row of this state (its key prefix):
 * idempotent, safe under races, done once per connection and prefix.
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

/** The highest fence counter value this state's commits have seen (their lease fences and claim marks). */
export async function storedFence(knex: Knex, fenceName: string): Promise<number> {
  return highestFence(await fenceRow(knex, fenceName))
}

/** A store's fence counter must move past this for its next lease to commit. */
export const highestFence = (row: FenceRow | null): number => Math.max(row?.fence ?? 0, row?.mark ?? 0)

/** The fence row of a state (its prefix): null when no flush ever prepared this database for it. */
export async function fenceRow(db: Knex | Knex.Transaction, fenceName: string): Promise<FenceRow | null> {
  const row = await db(FENCE_TABLE).where({name: fenceName}).first('fence', 'holder', 'epoch', 'mark', 'seq')
  if (!row) return null
  return {fence: Number(row.fence ?? 0), holder: row.holder ?? null, epoch: row.epoch ?? null, mark: row.mark === null || row.mark === undefined ? null : Number(row.mark), seq: Number(row.seq ?? 0)}
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
  const addColumn = async (table: string, column: string, length: number | 'bigint') => {
    if (await knex.schema.hasColumn(table, column)) return
    try {
      await knex.schema.alterTable(table, (t) => {
        if (length === 'bigint') t.bigInteger(column).nullable()
        else t.string(column, length).nullable()
      })
    } catch (error) {
      if (!(await knex.schema.hasColumn(table, column))) throw error
    }
  }
  await create(LEDGER_TABLE, (t) => {
    t.string('batch_id', 80).notNullable()
    t.integer('lo').notNullable()
    t.integer('hi').notNullable()
    t.string('outcome', 16).notNullable()
    t.bigInteger('applied_at').notNullable()
    t.string('prefix', 64).nullable()
    t.primary(['batch_id', 'lo'])
    t.index(['applied_at'])
  })
  await create(FENCE_TABLE, (t) => {
    t.string('name', 64).primary()
    t.bigInteger('fence').notNullable()
    t.bigInteger('seq').notNullable()
    t.string('holder', 64).nullable()
    t.string('epoch', 64).nullable()
    t.bigInteger('mark').nullable()
  })
  // Tables created by an older version: the columns arrive empty (NULL), which every check accepts.
  await addColumn(LEDGER_TABLE, 'prefix', 64)
  await addColumn(FENCE_TABLE, 'holder', 64)
  await addColumn(FENCE_TABLE, 'epoch', 64)
  await addColumn(FENCE_TABLE, 'mark', 'bigint')
  await knex(FENCE_TABLE).insert({name: fenceName, fence: 0, seq: 0}).onConflict('name').ignore()
}

/**
 * First statement of every flush transaction: takes the fence row's lock (serialising flush
 * transactions) and refuses a holder whose fence is older than one that already committed — or
 * equal to it but issued to another lease (a state store that forgot its fence counter issues a
 * fence twice) — or not above the claim mark another lease committed (the store issued this
 * lease before that claim: it came back from a snapshot taken mid-flush), and, for a store with
 * an epoch marker, one whose epoch is not the one recorded. Records the committer's fence, lease
 * token, epoch and (the highest) claim mark.
 */
export async function checkFence(trx: Knex.Transaction, fenceName: string, committer: Committer): Promise<void> {
  const {fence, token, epoch} = committer
  const mark = Math.max(committer.mark, fence)
  // Where-callbacks here have block bodies: knex only reads the conditions they add, and a builder
  // returned from one would look like a promise nobody awaits.
  const query = trx(FENCE_TABLE)
    .where({name: fenceName})
    .andWhere((w) => {
      w.where('fence', '<', fence).orWhere((same) => {
        same.where('fence', fence).andWhere((h) => {
          h.whereNull('holder').orWhere('holder', token)
        })
      })
    })
    // The holder that recorded the mark may commit again, but never with a lower one: its claims
    // take increasing marks and are applied in claim order, so a lower mark means the store's
    // counter went back (restored from an older snapshot while this lease lived on).
    .andWhere((m) => {
      m.whereNull('mark')
        .orWhere('mark', '<', fence)
        .orWhere((own) => {
          own.where('holder', token).andWhere('mark', '<=', mark)
        })
    })
  if (epoch !== null) {
    query.andWhere((e) => {
      e.whereNull('epoch').orWhere('epoch', epoch)
    })
  }
  const updated = await query.update({
    fence,
    holder: token,
    ...(epoch !== null ? {epoch} : {}),
    mark: trx.raw('CASE WHEN mark IS NULL OR mark < ? THEN ? ELSE mark END', [mark, mark]),
    seq: trx.raw('seq + 1'),
  })
  if (updated === 0) {
    const row = await fenceRow(trx, fenceName)
    throw new FencedOut(fence, row?.fence ?? -1, row)
  }
}

export async function ledgerRanges(db: Knex | Knex.Transaction, batchId: string): Promise<LedgerRange[]> {
  const rows = await db(LEDGER_TABLE).where({batch_id: batchId}).select('lo', 'hi', 'outcome')
  return rows.map((row) => ({lo: Number(row.lo), hi: Number(row.hi), outcome: row.outcome === 'dead' ? 'dead' : 'applied'}))
}

/** The database's clock in milliseconds since the epoch, as an SQL expression (one clock for every writer). */
export function dbNowMs(db: Knex | Knex.Transaction): Knex.Raw {
  const client = String(db.client.config.client)
  if (client === 'pg') return db.raw('CAST(EXTRACT(EPOCH FROM clock_timestamp()) * 1000 AS BIGINT)')
  if (client === 'mysql2' || client === 'mysql') return db.raw('CAST(UNIX_TIMESTAMP(NOW(3)) * 1000 AS SIGNED)')
  return db.raw(`CAST(ROUND((julianday('now') - 2440587.5) * 86400000) AS INTEGER)`)
}

export async function recordRange(trx: Knex.Transaction, batchId: string, range: LedgerRange, prefix: string): Promise<void> {
  await trx(LEDGER_TABLE).insert({batch_id: batchId, lo: range.lo, hi: range.hi, outcome: range.outcome, applied_at: dbNowMs(trx), prefix})
}

/**
 * Ledger rows are only needed while their batch may still be in flight. Removes this state's rows
 * older than `olderThanMs` by the database's clock, except those of the batches `inflight` names —
 * a batch left in flight longer than that (an application down for weeks) keeps its rows until
 * it is finished. Rows an earlier version wrote carry no prefix (they may be any state's): they
 * go only after `legacyOlderThanMs`.
 */
export async function pruneLedger(knex: Knex, prefix: string, inflight: string[], olderThanMs = 7 * 24 * 3600 * 1000, legacyOlderThanMs = 30 * 24 * 3600 * 1000): Promise<number> {
  const before = (ms: number) => knex.raw(`(${dbNowMs(knex).toQuery()}) - ?`, [ms])
  const query = knex(LEDGER_TABLE).where((w) => {
    w.where((mine) => {
      mine.where('prefix', prefix).andWhere('applied_at', '<', before(olderThanMs))
    }).orWhere((legacy) => {
      legacy.whereNull('prefix').andWhere('applied_at', '<', before(legacyOlderThanMs))
    })
  })
  // Few batches are ever in flight; chunks keep the statement small when many are.
  for (let i = 0; i < inflight.length; i += 500) query.whereNotIn('batch_id', inflight.slice(i, i + 500))
  return query.delete()
}
