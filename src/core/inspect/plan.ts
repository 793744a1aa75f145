import {entriesOf} from '../buffer/entries.js'
import {KeySpace, parseMember, parseTableMember} from '../buffer/keys.js'
import {rowProblem} from '../buffer/names.js'
import {badRowsOf, stepsFor, type StoredBatch} from '../buffer/steps/index.js'
import type {WbcConfig} from '../config/schema.js'
import {CorruptValue} from '../errors.js'
import type {Ipc, Json} from '../ipc/types.js'
import {entryStatements, type PlannedStatement} from '../sql/apply.js'
import {Databases, type Database} from '../sql/databases.js'
import {errorText} from '../sql/errors.js'
import {ledgerRanges, type LedgerRange} from '../sql/ledger.js'
import {isMariaDb, limitStatements, restoreStatements} from '../sql/limits.js'
import {tableInfo, type TableInfo} from '../sql/table-info.js'
import {readStatus, type StatusFilter, type TableStatus} from './status.js'

export interface PlannedSql {
  kind: 'limits' | PlannedStatement['kind']
  /** Exactly the SQL text the flush sends (knex `?` placeholders). */
  sql: string
  /** How many values it binds. */
  bindings: number
  /** How many times in a row this same text runs (with other values). */
  times: number
  /** Checks run only when the UPDATEs changed fewer rows than there are entries. */
  conditional?: true
}

export interface FlushPlan {
  dryRun: true
  /** `error`: why this table's statements could not be built (its connection is not configured or not reachable). */
  tables: Array<TableStatus & {statements: PlannedSql[]; error?: string}>
}

/** Rows per claimed batch, as the flusher's default `batchSize`. */
const DEFAULT_BATCH_SIZE = 5000
const SCAN_COUNT = 1000

/**
 * What a flush would write, without claiming anything: per table, the statements the flush would
 * run for what is pending now — built by the same code from the same entries (batches left in
 * flight first, then updates, counters and queued rows in batches as the flusher claims them),
 * with the table's real column types, so the SQL text is the text that would be sent. The
 * transaction's own bookkeeping (fence, ledger) is not listed.
 */
export async function planFlush(ipc: Ipc, config: WbcConfig, filter: StatusFilter, options: {batchSize?: number} = {}): Promise<FlushPlan> {
  const batchSize = options.batchSize ?? DEFAULT_BATCH_SIZE
  const status = await readStatus(ipc, config.ipc.prefix, filter)
  const keys = new KeySpace(config.ipc.prefix)
  const dbs = new Databases(config.connections)
  const tables: FlushPlan['tables'] = []
  try {
    const members = {counters: await tableMembers(ipc, keys.countersIndex, true), updates: await tableMembers(ipc, keys.updatesIndex, false)}
    const inflight = await inflightBatches(ipc, keys)
    for (const t of status.tables) {
      const name = `${t.connection}:${t.table}`
      let db: Database
      let info: TableInfo
      let limits: string[]
      let restore: string[]
      try {
        db = dbs.get(t.connection)
        info = await tableInfo(db.knex, db.dialect, t.table)
        const mariadb = db.dialect === 'mysql' && (await isMariaDb(db.knex, db.knex))
        limits = limitStatements(db.dialect, config.buffer.statementTimeoutMs, mariadb)
        restore = restoreStatements(db.dialect, config.buffer.statementTimeoutMs, mariadb)
      } catch (error) {
        // The statements depend on the table's column types: without the database there is no exact plan.
        tables.push({...t, statements: [], error: errorText(error)})
        continue
      }
      const statements: PlannedSql[] = []
      const add = (batch: StoredBatch, done: LedgerRange[] = []) => {
        const entries = entriesOf(batch, config.buffer.primaryKey)
        for (const range of pendingRanges(entries.length, done)) {
          const planned = entryStatements(db.dialect, t.table, entries.slice(range.lo, range.hi), config.buffer.insertBatchSize, info)
          for (const sql of limits) push(statements, {kind: 'limits', sql, bindings: []})
          for (const s of planned.updates) push(statements, s)
          for (const s of planned.checks()) push(statements, s, true)
          for (const s of planned.inserts) push(statements, s)
          for (const sql of restore) push(statements, {kind: 'limits', sql, bindings: []})
        }
      }
      for (const batch of inflight.filter((b) => b.table === name)) add(batch, await ledgerRanges(db.knex, batch.id).catch(() => []))
      for (const group of pages(members.updates.get(name) ?? [], batchSize)) {
        const updates: StoredBatch['updates'] = []
        for (const member of group) {
          const fields = await ipc.hgetall(keys.update(member))
          if (fields) updates.push([member, fields])
        }
        add(emptyBatch(name, {updates}))
      }
      for (const group of pages(members.counters.get(name) ?? [], batchSize)) {
        const counters: StoredBatch['counters'] = []
        for (const member of group) {
          const delta = Number(await ipc.get(keys.counter(member)))
          if (Number.isFinite(delta)) counters.push([member, delta])
        }
        add(emptyBatch(name, {counters}))
      }
      for (let start = 0; start < t.inserts.rows; start += batchSize) {
        const rows = await queuedRows(ipc, keys.queue(name), start, start + batchSize - 1)
        if (rows === null) break
        // As the flush applies a claimed batch: without the rows it sets aside first.
        add(emptyBatch(name, {inserts: rows.filter((row) => rowProblem(row) === null)}))
      }
      tables.push({...t, statements})
    }
  } finally {
    await dbs.close()
  }
  return {dryRun: true, tables}
}

/**
 * Queued rows `start..stop` (null when there are none); a row that is not JSON (written by someone
 * else: the flush sets it aside) is read as its own text, so the rest still plan.
 */
async function queuedRows(ipc: Ipc, key: string, start: number, stop: number): Promise<Json[] | null> {
  let rows: Json[]
  try {
    rows = await ipc.lrange<Json>(key, start, stop)
  } catch (error) {
    if (!(error instanceof CorruptValue)) throw error
    rows = []
    for (let at = start; at <= stop; at++) {
      const one = await ipc.lrange<Json>(key, at, at).catch((again: unknown) => {
        if (again instanceof CorruptValue) return ['(not JSON)']
        throw again
      })
      if (one.length === 0) break
      rows.push(one[0])
    }
  }
  return rows.length === 0 ? null : rows
}

/** Consecutive runs of the same SQL text are listed once, with how many times they run. */
function push(out: PlannedSql[], statement: {kind: PlannedSql['kind']; sql: string; bindings: unknown[]}, conditional = false): void {
  const last = out.at(-1)
  if (last && last.sql === statement.sql && last.kind === statement.kind) {
    last.times++
    return
  }
  out.push({kind: statement.kind, sql: statement.sql, bindings: statement.bindings.length, times: 1, ...(conditional ? {conditional: true as const} : {})})
}

const emptyBatch = (table: string, parts: Partial<StoredBatch>): StoredBatch => ({id: 'dry-run', table, createdAt: 0, counters: [], updates: [], inserts: [], ...parts})

function* pages<T>(items: T[], size: number): Generator<T[]> {
  for (let i = 0; i < items.length; i += size) yield items.slice(i, i + size)
}

/** Index members per `{connection}:{table}`, in scan order. */
async function tableMembers(ipc: Ipc, index: string, counters: boolean): Promise<Map<string, string[]>> {
  const out = new Map<string, string[]>()
  let cursor = '0'
  do {
    const page = await ipc.sscan(index, cursor, SCAN_COUNT)
    cursor = page.cursor
    for (const member of page.items) {
      const parsed = parseMember(member, counters)
      if (!parsed) continue
      const table = `${parsed.connection}:${parsed.table}`
      const list = out.get(table)
      if (list) list.push(member)
      else out.set(table, [member])
    }
  } while (cursor !== '0')
  return out
}

async function inflightBatches(ipc: Ipc, keys: KeySpace): Promise<StoredBatch[]> {
  const batches: StoredBatch[] = []
  for (const id of (await ipc.smembers(keys.inflightIndex)).sort()) {
    try {
      // As the flush applies it: without the queued rows it sets aside first.
      const batch = await stepsFor(ipc).readBatch(keys.prefix, id, {rows: false})
      const bad = batch && badRowsOf(batch)
      if (batch && bad) {
        const aside = new Set(bad.positions)
        batch.inserts = batch.inserts.filter((_, r) => !aside.has(r))
      }
      if (batch !== null && parseTableMember(batch.table)) batches.push(batch)
    } catch (error) {
      // A batch that cannot be read is quarantined by the flush, not applied.
      if (!(error instanceof CorruptValue)) throw error
    }
  }
  return batches
}

function pendingRanges(length: number, done: LedgerRange[]): Array<{lo: number; hi: number}> {
  const pending: Array<{lo: number; hi: number}> = []
  let at = 0
  for (const range of [...done].sort((a, b) => a.lo - b.lo)) {
    if (range.lo > at) pending.push({lo: at, hi: range.lo})
    at = Math.max(at, range.hi)
  }
  if (at < length) pending.push({lo: at, hi: length})
  return pending
}
