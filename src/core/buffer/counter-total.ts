import type {Knex} from 'knex'

import type {BufferSteps, CounterReading} from './steps/index.js'
import type {Database} from '../sql/databases.js'
import {isUnreachable, typedDatabaseError} from '../sql/errors.js'
import {ensureLedger, LEDGER_TABLE} from '../sql/ledger.js'
import {bindKey, bindValue, quote, type ColumnTypes} from '../sql/statements.js'
import {tableInfo} from '../sql/table-info.js'
import {EntryPositions} from './entry-positions.js'
import {decodeWhere, parseMember} from './keys.js'

const ATTEMPTS = 10
/** Most scalar subqueries (DB values and ledger checks) in one statement; each is a column of the answer. */
export const MAX_COLUMNS_PER_STATEMENT = 1000
/**
 * Most bound values in one statement: PostgreSQL takes at most 65,535 (more is a protocol error,
 * SQLSTATE 08P01, which reads as an unreachable database), SQLite 32,766.
 */
export const MAX_BINDINGS_PER_STATEMENT = 30_000

/** A counter's total and its parts, all from one reading of the counter (they add up). */
export interface CounterBreakdown {
  /** The DB value without the in-flight deltas. */
  base: number
  /** The deltas of batches being flushed. */
  inflight: number
  /** The delta written since the last claim. */
  live: number
  total: number
  /** The base was the cached copy, or read from the database now (and cached). */
  baseSource: 'cache' | 'database'
}

export type TotalResult = CounterBreakdown | {error: unknown}

const parts = (base: number, inflight: number, live: number, baseSource: CounterBreakdown['baseSource'], total = base + inflight + live): CounterBreakdown => ({
  base,
  inflight,
  live,
  total,
  baseSource,
})

/** One counter's DB value to read, and the in-flight entries whose ledger records to check. */
interface BaseRead {
  table: string
  column: string
  where: Record<string, unknown>
  positions: Array<{batchId: string; index: number}>
}

interface BaseValue {
  value: number
  applied: boolean[]
}

/**
 * The total of a counter: DB base + in-flight deltas + live delta, never counting a delta twice.
 * The base is the DB value without in-flight deltas; once cached, acks keep it exact. To cache
 * it, the DB value and the ledger are read in one statement (one snapshot), the deltas of
 * in-flight batches the ledger shows applied are taken off, and the result is stored only if no
 * claim or ack of the table happened in between (the table's generation is unchanged).
 */
export async function counterTotal(steps: BufferSteps, prefix: string, db: Database, member: string, primaryKey: string, cacheTtlMs: number): Promise<number> {
  return (await counterBreakdown(steps, prefix, db, member, primaryKey, cacheTtlMs)).total
}

/** A counter's total with its parts (see counterTotal), all from one reading of the counter. */
export async function counterBreakdown(steps: BufferSteps, prefix: string, db: Database, member: string, primaryKey: string, cacheTtlMs: number): Promise<CounterBreakdown> {
  const [result] = await counterTotals(steps, prefix, db, [member], primaryKey, cacheTtlMs)
  if ('error' in result) throw result.error
  return result
}

/**
 * counterTotal for several counters of one connection at once: their readings and cachings go
 * out together, and the bases missing from the cache are read in one statement (per
 * MAX_COLUMNS_PER_STATEMENT values and ledger checks, each attempt). `known` holds readings
 * already taken (by the increment step, atomically with the increment). Each counter gets its own
 * total or error.
 */
export async function counterTotals(
  steps: BufferSteps,
  prefix: string,
  db: Database,
  members: string[],
  primaryKey: string,
  cacheTtlMs: number,
  positions = new EntryPositions(steps, prefix, primaryKey),
  known: Array<CounterReading | undefined> = [],
): Promise<TotalResult[]> {
  const results: TotalResult[] = new Array(members.length)
  let pending = members.map((_, i) => i)
  for (let attempt = 0; attempt < ATTEMPTS && pending.length > 0; attempt++) {
    const cold: Array<{i: number; reading: CounterReading}> = []
    await Promise.all(
      pending.map((i) =>
        // The first attempt starts from the reading the increment step returned, where there is one.
        (attempt === 0 && known[i] ? Promise.resolve(known[i]!) : steps.readCounter(prefix, members[i])).then(
          (reading) => {
            if (reading.base !== null) results[i] = parts(reading.base, sum(Object.values(reading.inflight)), reading.live, 'cache')
            else cold.push({i, reading})
          },
          (error: unknown) => void (results[i] = {error}),
        ),
      ),
    )
    const values = await readValues(
      db,
      prefix,
      cold.map(({i, reading}) => ({member: members[i], reading})),
      primaryKey,
      positions,
    )
    const retry: number[] = []
    await Promise.all(
      cold.map(async ({i, reading}, k) => {
        const value = values[k]
        if ('error' in value) return void (results[i] = value)
        const batches = Object.keys(reading.inflight)
        const base = value.value - sum(batches.filter((_, b) => value.applied[b]).map((id) => reading.inflight[id]))
        try {
          const cached = await steps.cacheBase(prefix, members[i], reading.generation, base, cacheTtlMs)
          if (cached.cached) results[i] = parts(base, cached.inflight, cached.live, 'database')
          else retry.push(i)
        } catch (error) {
          results[i] = {error}
        }
      }),
    )
    pending = retry
  }
  // Claimed or acked during every attempt: answer without caching.
  await Promise.all(
    pending.map((i) =>
      uncachedTotal(steps, prefix, db, members[i], primaryKey, positions).then(
        (breakdown) => void (results[i] = breakdown),
        (error: unknown) => void (results[i] = {error}),
      ),
    ),
  )
  return results
}

/**
 * A total read without caching its base, that still takes off the in-flight deltas the ledger
 * shows applied (the DB value has them already).
 */
async function uncachedTotal(steps: BufferSteps, prefix: string, db: Database, member: string, primaryKey: string, positions: EntryPositions): Promise<CounterBreakdown> {
  let reading = await steps.readCounter(prefix, member)
  let answer = parts(0, 0, 0, 'database')
  for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
    const [value] = await readValues(db, prefix, [{member, reading}], primaryKey, positions)
    if ('error' in value) throw value.error
    const batches = Object.keys(reading.inflight)
    const inflight = sum(batches.map((id) => reading.inflight[id]))
    const appliedInflight = sum(batches.filter((_, b) => value.applied[b]).map((id) => reading.inflight[id]))
    const pendingInflight = inflight - appliedInflight
    answer = parts(value.value - appliedInflight, inflight, reading.live, 'database', value.value + pendingInflight + reading.live)
    const after = await steps.readCounter(prefix, member)
    // Nothing claimed or acked meanwhile: the reading and the DB snapshot agree.
    if (after.generation === reading.generation) return parts(value.value - appliedInflight, inflight, after.live, 'database', value.value + pendingInflight + after.live)
    reading = after
  }
  return answer
}

/** Each counter's DB value and, per in-flight batch of its reading, whether the ledger shows its entry applied. */
async function readValues(
  db: Database,
  prefix: string,
  counters: Array<{member: string; reading: CounterReading}>,
  primaryKey: string,
  positions: EntryPositions,
): Promise<Array<BaseValue | {error: unknown}>> {
  const results: Array<BaseValue | {error: unknown}> = new Array(counters.length)
  const reads: Array<{k: number; read: BaseRead}> = []
  await Promise.all(
    counters.map(async ({member, reading}, k) => {
      try {
        const parsed = parseMember(member, true)!
        const where = decodeWhere(parsed.where, primaryKey)
        const found = await Promise.all(Object.keys(reading.inflight).map(async (batchId) => ({batchId, index: await positions.of(batchId, member)})))
        reads.push({k, read: {table: parsed.table, column: parsed.column!, where, positions: found}})
      } catch (error) {
        results[k] = {error}
      }
    }),
  )
  // Each value and each ledger check is a column of the answer (PostgreSQL allows 1,664).
  let chunk: typeof reads = []
  let columns = 0
  let bindings = 0
  const send = async () => {
    const values = await readBases(
      db,
      prefix,
      chunk.map(({read}) => read),
    )
    chunk.forEach(({k}, j) => (results[k] = values[j]))
  }
  for (const entry of reads) {
    // A value binds each where column; a ledger check binds 3 (at most: checks are shared).
    const entryBindings = Object.keys(entry.read.where).length + 3 * entry.read.positions.length
    if (chunk.length > 0 && (columns + 1 + entry.read.positions.length > MAX_COLUMNS_PER_STATEMENT || bindings + entryBindings > MAX_BINDINGS_PER_STATEMENT)) {
      await send()
      chunk = []
      columns = 0
      bindings = 0
    }
    chunk.push(entry)
    columns += 1 + entry.read.positions.length
    bindings += entryBindings
  }
  if (chunk.length > 0) await send()
  return results
}

/**
 * The DB values of several counters and the ledger records of their in-flight entries, in one
 * statement (one snapshot). When it fails for any reason but an unreachable database, each
 * counter is read on its own, so that one bad key (a cast error) fails only its own callers.
 */
async function readBases(db: Database, prefix: string, reads: BaseRead[]): Promise<Array<BaseValue | {error: unknown}>> {
  if (reads.length === 0) return []
  try {
    return await readBasesOnce(db, prefix, reads)
  } catch (error) {
    const typed = (read: BaseRead) => ({error: typedDatabaseError(error, db, describeRead(read))})
    if (reads.length === 1 || isUnreachable(error)) return reads.map(typed)
    return (await Promise.all(reads.map((read) => readBases(db, prefix, [read])))).flat()
  }
}

async function readBasesOnce(db: Database, prefix: string, reads: BaseRead[]): Promise<BaseValue[]> {
  if (reads.some((read) => read.positions.length > 0)) await ensureLedger(db.knex, prefix)
  const q = (name: string) => quote(db.dialect, name)
  const parts: string[] = []
  const bindings: unknown[] = []
  // One ledger check per (batch, entry): the counters of one row share their entry.
  const checks = new Map<string, string>()
  const checkOf = reads.map((read) =>
    read.positions.map(({batchId, index}) => {
      const key = `${index} ${batchId}`
      let alias = checks.get(key)
      if (alias === undefined) {
        alias = `a${checks.size}`
        checks.set(key, alias)
        parts.push(`(SELECT COUNT(*) FROM ${q(LEDGER_TABLE)} WHERE ${q('batch_id')} = ? AND ${q('outcome')} = 'applied' AND ${q('lo')} <= ? AND ${q('hi')} > ?) AS ${alias}`)
        bindings.push(batchId, index, index)
      }
      return alias
    }),
  )
  const types = await keyTypes(db, reads)
  reads.forEach(({table, column, where}, i) => {
    const columns = Object.keys(where).sort()
    const cast = (c: string) => types.get(table)?.[c]
    parts.push(`(SELECT ${q(column)} FROM ${q(table)} WHERE ${columns.map((c) => `${q(c)} = ${cast(c) ? `CAST(? AS ${cast(c)})` : '?'}`).join(' AND ')}) AS v${i}`)
    bindings.push(...columns.map((c) => (cast(c) ? bindKey(db.dialect, where[c] as never, cast(c)) : bindValue(db.dialect, where[c] as never))))
  })
  const result = await db.knex.raw(`SELECT ${parts.join(', ')}`, bindings as Knex.RawBinding[])
  const row = (db.dialect === 'postgres' ? result.rows[0] : db.dialect === 'mysql' ? result[0][0] : result[0]) as Record<string, unknown>
  return reads.map((_, i) => ({value: Number(row?.[`v${i}`] ?? 0) || 0, applied: checkOf[i].map((alias) => Number(row?.[alias] ?? 0) > 0)}))
}

/**
 * MySQL/MariaDB: the casts of integer and decimal key columns, so that a key value reaches the row
 * the flush writes (statements.ts bindKey: exactly, not compared as a double, where `'1abc'` would
 * read row 1 while the flush finds no row). Other dialects compare as the flush does already.
 */
async function keyTypes(db: Database, reads: BaseRead[]): Promise<Map<string, ColumnTypes>> {
  const types = new Map<string, ColumnTypes>()
  if (db.dialect !== 'mysql') return types
  for (const table of new Set(reads.map((read) => read.table))) types.set(table, (await tableInfo(db.knex, db.dialect, table)).types)
  return types
}

/** The table, column and key came from the caller: a cast error is a usage error, not a bug. */
function describeRead({table, column, where}: BaseRead): {table: string; column: string; where: string} {
  const values = Object.values(where)
  return {table, column, where: JSON.stringify(values.length === 1 ? values[0] : where)}
}

const sum = (values: number[]) => values.reduce((a, b) => a + b, 0)
