import type {Knex} from 'knex'

import type {Ipc} from '../ipc/types.js'
import type {Database} from '../sql/databases.js'
import {typedDatabaseError} from '../sql/errors.js'
import {ensureLedger, LEDGER_TABLE} from '../sql/ledger.js'
import {bindValue, quote} from '../sql/statements.js'
import {entriesOf} from './entries.js'
import {decodeWhere, KeySpace, parseMember} from './keys.js'
import type {BufferSteps} from './steps/index.js'

const ATTEMPTS = 10

/**
 * The total of a counter: DB base + in-flight deltas + live delta, never counting a delta twice.
 * The base is the DB value without in-flight deltas; once cached, acks keep it exact. To cache
 * it, the DB value and the ledger are read in one statement (one snapshot), the deltas of
 * in-flight batches the ledger shows applied are taken off, and the result is stored only if no
 * claim or ack of the table happened in between (the table's generation is unchanged).
 */
export async function counterTotal(steps: BufferSteps, prefix: string, db: Database, member: string, primaryKey: string, cacheTtlMs: number): Promise<number> {
  const parsed = parseMember(member, true)!
  for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
    const reading = await steps.readCounter(prefix, member)
    const inflight = Object.values(reading.inflight).reduce((a, b) => a + b, 0)
    if (reading.base !== null) return reading.base + inflight + reading.live
    const batches = Object.keys(reading.inflight)
    const positions = await entryPositions(steps, prefix, batches, member, primaryKey)
    const {value, applied} = await readBase(db, prefix, parsed.table, parsed.column!, decodeWhere(parsed.where, primaryKey), positions)
    const base = value - batches.filter((id, i) => applied[i]).reduce((sum, id) => sum + reading.inflight[id], 0)
    const cached = await steps.cacheBase(prefix, member, reading.generation, base, cacheTtlMs)
    if (cached.cached) return base + cached.inflight + cached.live
  }
  // The table was claimed or acked during every attempt: answer without caching, but still take
  // off the in-flight deltas the ledger shows applied (the DB value has them already).
  let reading = await steps.readCounter(prefix, member)
  let total = 0
  for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
    const batches = Object.keys(reading.inflight)
    const positions = await entryPositions(steps, prefix, batches, member, primaryKey)
    const {value, applied} = await readBase(db, prefix, parsed.table, parsed.column!, decodeWhere(parsed.where, primaryKey), positions)
    const pendingInflight = batches.filter((id, i) => !applied[i]).reduce((sum, id) => sum + reading.inflight[id], 0)
    total = value + pendingInflight + reading.live
    const after = await steps.readCounter(prefix, member)
    // Nothing claimed or acked meanwhile: the reading and the DB snapshot agree.
    if (after.generation === reading.generation) return value + pendingInflight + after.live
    reading = after
  }
  return total
}

/** Where this counter's entry sits in each in-flight batch (the ledger records index ranges). */
async function entryPositions(steps: BufferSteps, prefix: string, batches: string[], member: string, primaryKey: string): Promise<Array<{batchId: string; index: number}>> {
  const positions: Array<{batchId: string; index: number}> = []
  for (const batchId of batches) {
    const batch = await steps.readBatch(prefix, batchId)
    const entries = batch === null ? [] : entriesOf(batch, primaryKey)
    positions.push({batchId, index: entries.findIndex((e) => e.kind === 'counter' && e.members.includes(member))})
  }
  return positions
}

/** The counter's DB value and, per in-flight batch, whether the ledger shows its entry applied. */
async function readBase(
  db: Database,
  prefix: string,
  table: string,
  column: string,
  where: Record<string, unknown>,
  positions: Array<{batchId: string; index: number}>,
): Promise<{value: number; applied: boolean[]}> {
  try {
    if (positions.length > 0) await ensureLedger(db.knex, prefix)
    const q = (name: string) => quote(db.dialect, name)
    const columns = Object.keys(where).sort()
    const bindings: unknown[] = columns.map((c) => bindValue(db.dialect, where[c] as never))
    const parts = [`(SELECT ${q(column)} FROM ${q(table)} WHERE ${columns.map((c) => `${q(c)} = ?`).join(' AND ')}) AS v`]
    positions.forEach(({batchId, index}, i) => {
      parts.push(`(SELECT COUNT(*) FROM ${q(LEDGER_TABLE)} WHERE ${q('batch_id')} = ? AND ${q('outcome')} = 'applied' AND ${q('lo')} <= ? AND ${q('hi')} > ?) AS a${i}`)
      bindings.push(batchId, index, index)
    })
    // One statement: the value and the ledger come from the same snapshot.
    const result = await db.knex.raw(`SELECT ${parts.join(', ')}`, bindings as Knex.RawBinding[])
    const row = (db.dialect === 'postgres' ? result.rows[0] : db.dialect === 'mysql' ? result[0][0] : result[0]) as Record<string, unknown>
    return {value: Number(row?.v ?? 0) || 0, applied: positions.map((_, i) => Number(row?.[`a${i}`] ?? 0) > 0)}
  } catch (error) {
    // The table, column and key came from the caller: a cast error is a usage error, not a bug.
    throw typedDatabaseError(error, db, {table, column, where: JSON.stringify(Object.values(where).length === 1 ? Object.values(where)[0] : where)})
  }
}
