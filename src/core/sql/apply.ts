import type {Knex} from 'knex'

import type {Entry} from './entry.js'
import type {Dialect} from '../config/connections.js'
import {WbcError} from '../errors.js'
import type {Json} from '../ipc/types.js'
import {cachedTableInfo, forgetTableInfo, tableInfo, type TableInfo} from './table-info.js'
import {DEFAULT_STATEMENT_TIMEOUT_MS, withTransactionLimits} from './limits.js'
import {insertStatements} from './inserts.js'
import {cannotShareRows} from './same-row.js'
import {bindKey, bindValue, counterUpdate, derivedRowsPerStatement, fieldUpdate, missingRows, plainCounterUpdate, plainFieldUpdate, type ColumnTypes, type Statement} from './statements.js'

/** Some entries address rows that do not exist: a data error pinned to those entries. */
export class RowsNotFound extends WbcError {
  constructor(readonly indexes: number[]) {
    super('ROW_NOT_FOUND', `no row matches the key of ${indexes.length} entr${indexes.length === 1 ? 'y' : 'ies'}`)
  }
}

export interface AppliedCounts {
  updates: number
  counters: number
  inserts: number
}

export interface PlannedStatement extends Statement {
  kind: 'update' | 'counter' | 'check' | 'insert'
}

/** The statements that apply a list of entries, in the order they run. */
export interface EntryStatements {
  /** Column updates, then counter increments; each UPDATE reports the rows it changed. */
  updates: PlannedStatement[]
  /** Entries that address rows (updates and counters). */
  keyed: number
  /** Whether one entry can reach several rows (key columns that are no unique key): the check must always run. */
  mayReachSeveral: boolean
  /**
   * Finds the entries whose row does not exist. Run only when the UPDATEs changed fewer rows than
   * there are keyed entries (a missing row, several entries reaching one row, or MySQL not
   * counting a row whose value did not change).
   */
  checks(): PlannedStatement[]
  /** Multi-row INSERTs in queue order. */
  inserts: PlannedStatement[]
  counts: AppliedCounts
}

type UpdateEntry = Extract<Entry, {kind: 'update'}>
type CounterEntry = Extract<Entry, {kind: 'counter'}>
type KeyedEntry = UpdateEntry | CounterEntry

/**
 * Builds the set-based statements for entries: per shape of key columns, one UPDATE per chunk
 * that first aggregates the chunk per target row (so one row reached through several keys gets
 * every increment and a deterministic last write), then multi-row INSERTs. Used by the flush and
 * by `flush --dry-run`, so the dry run shows exactly what would run.
 */
export function entryStatements(dialect: Dialect, table: string, entries: Entry[], insertBatchSize: number, info: TableInfo): EntryStatements {
  const types = info.types
  const indexed = entries.map((entry, index) => ({entry, index}))
  const keyed = indexed.filter((e): e is {entry: KeyedEntry; index: number} => e.entry.kind !== 'insert')
  const bind = (column: string, value: Json | undefined) => bindValue(dialect, value, types[column])
  const key = (column: string, value: Json | undefined) => bindKey(dialect, value, types[column])
  const updates: PlannedStatement[] = []

  // Newest write wins; without times (or equal ones) the later entry wins. An entry without a
  // recorded time counts as older than any with one. Chunks go in rank order, so across chunks the
  // later statement carries the higher ranks.
  const ranked = keyed
    .filter((e): e is {entry: UpdateEntry; index: number} => e.entry.kind === 'update')
    .sort((a, b) => (a.entry.at ?? 0) - (b.entry.at ?? 0) || a.index - b.index)
    .map((e, rank) => ({...e, rank}))
  // Entries of different key-column sets go in different statements, which must still run in
  // rank order ({id: 1} and {id: 1, tenant: 'a'} can reach one row): one statement group per run
  // of consecutive entries of one set.
  for (const group of runsOf(ranked, ({entry}) => shapeOf(entry))) {
    const keys = Object.keys(group[0].entry.where).sort()
    const all = [...new Set(group.flatMap(({entry}) => Object.keys(entry.fields)))].sort()
    // No two entries can reach one row: each row takes its entry as it is, no ranking per row.
    const plain = cannotShareRows(
      dialect,
      keys,
      group.map(({entry}) => entry.where),
      info,
    )
    for (const chunk of chunks(dialect, group, 1 + keys.length + 2 * all.length)) {
      const columns = all.filter((c) => chunk.some(({entry}) => c in entry.fields))
      const flagged = columns.map((c) => !chunk.every(({entry}) => c in entry.fields))
      const rows = chunk.map(({entry, rank}) => [
        ...(plain ? [] : [rank]),
        ...keys.map((k) => key(k, entry.where[k])),
        ...columns.flatMap((c, i) => (flagged[i] ? [c in entry.fields ? 1 : 0] : [])),
        ...columns.map((c) => bind(c, entry.fields[c])),
      ])
      const statement = plain ? plainFieldUpdate(dialect, table, keys, columns, flagged, rows, types) : fieldUpdate(dialect, table, keys, columns, flagged, rows, types)
      updates.push({kind: 'update', ...statement})
    }
  }

  const counters = keyed.filter((e): e is {entry: CounterEntry; index: number} => e.entry.kind === 'counter')
  for (const group of groupBy(counters, ({entry}) => shapeOf(entry)).values()) {
    const keys = Object.keys(group[0].entry.where).sort()
    const columns = [...new Set(group.flatMap(({entry}) => Object.keys(entry.deltas)))].sort()
    // No two entries can reach one row: joined straight to the table, without summing per row.
    const plain = cannotShareRows(
      dialect,
      keys,
      group.map(({entry}) => entry.where),
      info,
    )
    // A unique key reaches at most one row per entry: no need to count entries apart (wbc_i).
    const unique = plain || info.uniqueKeys.some((set) => set.every((column) => keys.includes(column)))
    for (const chunk of chunks(dialect, group, 1 + keys.length + columns.length)) {
      const rows = chunk.map(({entry, index}) => [...(unique ? [] : [index]), ...keys.map((k) => key(k, entry.where[k])), ...columns.map((c) => entry.deltas[c] ?? 0)])
      const statement = plain ? plainCounterUpdate(dialect, table, keys, columns, rows, types) : counterUpdate(dialect, table, keys, columns, rows, types, unique)
      updates.push({kind: 'counter', ...statement})
    }
  }

  // An entry whose key columns are not a unique key can reach several rows, so the UPDATEs can
  // change as many rows as there are entries while one entry reaches none: then always check.
  const mayReachSeveral = [...groupBy(keyed, ({entry}) => shapeOf(entry)).values()].some((group) => {
    const keys = Object.keys(group[0].entry.where)
    return !info.uniqueKeys.some((set) => set.every((column) => keys.includes(column))) || (dialect === 'mysql' && group.some(({entry}) => looseMysqlKey(entry.where, types)))
  })

  const checks = () => {
    const out: PlannedStatement[] = []
    for (const group of groupBy(keyed, ({entry}) => shapeOf(entry)).values()) {
      const keys = Object.keys(group[0].entry.where).sort()
      for (const chunk of chunks(dialect, group, keys.length + 1)) {
        const rows = chunk.map(({entry, index}) => [index, ...keys.map((k) => key(k, entry.where[k]))])
        out.push({kind: 'check', ...missingRows(dialect, table, keys, rows, types)})
      }
    }
    return out
  }

  const inserts = entries.filter((e): e is Extract<Entry, {kind: 'insert'}> => e.kind === 'insert').map((e) => bindRow(dialect, e.row, types))
  return {
    updates,
    keyed: keyed.length,
    mayReachSeveral,
    checks,
    inserts: insertStatements(dialect, table, inserts, insertBatchSize, types).map((statement) => ({kind: 'insert', ...statement})),
    counts: {updates: ranked.length, counters: counters.length, inserts: inserts.length},
  }
}

export interface ApplyOptions {
  /** `buffer.statementTimeoutMs`: how long a statement may wait for locks (or run); 0 = no limit. */
  statementTimeoutMs?: number
  /**
   * These very entries planned before the transaction (planAhead): used when the table's info it
   * was planned with is still the cached one, else planned again.
   */
  plan?: EntriesPlan
}

/** Statements planned ahead for a list of entries, and the cached table info they were planned with. */
export interface EntriesPlan {
  entries: Entry[]
  statements: EntryStatements
  info: Promise<TableInfo>
}

/**
 * Applies entries inside the caller's transaction: sets the transaction's lock/statement limits,
 * runs the set-based statements, and throws RowsNotFound (naming the entries) when some entries
 * address rows that do not exist. Rows go in key order (the entries are sorted), which keeps
 * concurrent transactions from deadlocking.
 */
export async function applyEntries(
  trx: Knex.Transaction,
  dialect: Dialect,
  table: string,
  entries: Entry[],
  insertBatchSize: number,
  /** The connection's knex, whose column types are cached (a transaction's are not). */
  connection: Knex = trx as unknown as Knex,
  options: ApplyOptions = {},
): Promise<AppliedCounts> {
  return withTransactionLimits(trx, dialect, options.statementTimeoutMs ?? DEFAULT_STATEMENT_TIMEOUT_MS, connection, () =>
    applyStatements(trx, dialect, table, entries, insertBatchSize, connection, options.plan),
  )
}

async function applyStatements(trx: Knex.Transaction, dialect: Dialect, table: string, entries: Entry[], insertBatchSize: number, connection: Knex, plan?: EntriesPlan): Promise<AppliedCounts> {
  if (plan && plan.entries === entries && cachedTableInfo(connection, table) === plan.info) return runOrForget(trx, dialect, table, plan.statements, connection)
  let info = await tableInfo(connection, dialect, table, trx)
  // PostgreSQL lists every column: one it lacks was added since it was read (a migration while
  // the application runs); without its type its values would go as text.
  if (dialect === 'postgres' && [...columnsOf(entries)].some((column) => !(column in info.types))) {
    forgetTableInfo(connection, table)
    info = await tableInfo(connection, dialect, table, trx)
  }
  return runOrForget(trx, dialect, table, entryStatements(dialect, table, entries, insertBatchSize, info), connection)
}

async function runOrForget(trx: Knex.Transaction, dialect: Dialect, table: string, planned: EntryStatements, connection: Knex): Promise<AppliedCounts> {
  try {
    return await runPlanned(trx, dialect, planned)
  } catch (error) {
    // A column's type may have changed since the info was read: the retry reads it again.
    forgetTableInfo(connection, table)
    throw error
  }
}

/**
 * Plans entries before their transaction, so that the JavaScript work of planning overlaps the
 * database's work on the batch before: with the table's info as cached (nothing is read; a
 * SQLite transaction may hold the only connection), else undefined and the transaction plans.
 */
export async function planAhead(connection: Knex, dialect: Dialect, table: string, entries: Entry[], insertBatchSize: number): Promise<EntriesPlan | undefined> {
  const cached = cachedTableInfo(connection, table)
  const info = await cached?.catch(() => undefined)
  if (!cached || !info) return undefined
  if (dialect === 'postgres' && [...columnsOf(entries)].some((column) => !(column in info.types))) return undefined
  return {entries, statements: entryStatements(dialect, table, entries, insertBatchSize, info), info: cached}
}

/** Every column the entries name (keys, fields, deltas, inserted columns). */
function columnsOf(entries: Entry[]): Set<string> {
  const columns = new Set<string>()
  for (const entry of entries) {
    const named = entry.kind === 'insert' ? entry.row : entry.kind === 'update' ? {...entry.where, ...entry.fields} : {...entry.where, ...entry.deltas}
    for (const column of Object.keys(named)) columns.add(column)
  }
  return columns
}

async function runPlanned(trx: Knex.Transaction, dialect: Dialect, planned: EntryStatements): Promise<AppliedCounts> {
  let affected = 0
  for (const statement of planned.updates) affected += await runUpdate(trx, dialect, statement)
  // Every keyed entry changed a row of its own: none can be missing. Fewer: find the missing ones
  // (none, when several entries reached one row); the transaction then rolls back.
  if (affected < planned.keyed || (planned.mayReachSeveral && planned.keyed > 0)) {
    const missing: number[] = []
    for (const statement of planned.checks()) for (const row of await run(trx, dialect, statement)) missing.push(Number(row.i))
    if (missing.length > 0) throw new RowsNotFound(missing.sort((a, b) => a - b))
  }
  for (const statement of planned.inserts) await trx.raw(statement.sql, statement.bindings as Knex.RawBinding[])
  return planned.counts
}

async function run(trx: Knex.Transaction, dialect: Dialect, statement: Statement): Promise<Array<Record<string, unknown>>> {
  const result = await trx.raw(statement.sql, statement.bindings as Knex.RawBinding[])
  if (dialect === 'postgres') return (result as {rows: Array<Record<string, unknown>>}).rows
  if (dialect === 'mysql') return Array.isArray(result[0]) ? result[0] : []
  return Array.isArray(result) ? result : []
}

/** Runs an UPDATE and returns how many rows it changed. */
async function runUpdate(trx: Knex.Transaction, dialect: Dialect, statement: Statement): Promise<number> {
  const result = await trx.raw(statement.sql, statement.bindings as Knex.RawBinding[])
  if (dialect === 'postgres') return Number((result as {rowCount?: number}).rowCount ?? 0)
  if (dialect === 'mysql') return Number((result as Array<{affectedRows?: number}>)[0]?.affectedRows ?? 0)
  return Number((result as {changes?: number}).changes ?? 0)
}

const shapeOf = (entry: KeyedEntry) => Object.keys(entry.where).sort().join(',')

function bindRow(dialect: Dialect, row: Record<string, Json>, types: ColumnTypes): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  for (const [column, value] of Object.entries(row)) out[column] = bindValue(dialect, value, types[column])
  return out
}

/** Maximal runs of consecutive items with the same key, in order. */
function runsOf<T>(items: T[], keyOf: (item: T) => string): T[][] {
  const runs: T[][] = []
  let last: string | undefined
  for (const item of items) {
    const key = keyOf(item)
    if (runs.length === 0 || key !== last) runs.push([])
    last = key
    runs.at(-1)!.push(item)
  }
  return runs
}

/**
 * MySQL compares a string column with a number as doubles ('01' = 1, '1x' = 1): a numeric value
 * for a key column wbc does not cast (not integer/decimal) can reach several rows of a unique key.
 */
function looseMysqlKey(where: Record<string, unknown>, types: ColumnTypes): boolean {
  return Object.entries(where).some(([column, value]) => typeof value !== 'string' && value !== null && types[column] === undefined)
}

function groupBy<T>(items: T[], keyOf: (item: T) => string): Map<string, T[]> {
  const groups = new Map<string, T[]>()
  for (const item of items) {
    const key = keyOf(item)
    const group = groups.get(key)
    if (group) group.push(item)
    else groups.set(key, [item])
  }
  return groups
}

function chunks<T>(dialect: Dialect, items: T[], columnsPerRow: number): T[][] {
  const size = derivedRowsPerStatement(dialect, columnsPerRow)
  const out: T[][] = []
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size))
  return out
}
