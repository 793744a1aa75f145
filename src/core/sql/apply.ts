import type {Knex} from 'knex'

import type {Entry} from './entry.js'
import type {Dialect} from '../config/connections.js'
import {WbcError} from '../errors.js'
import type {Json} from '../ipc/types.js'
import {cachedTableInfo, forgetTableInfo, tableInfo, type TableInfo} from './table-info.js'
import {DEFAULT_STATEMENT_TIMEOUT_MS, withTransactionLimits} from './limits.js'
import {insertStatements} from './inserts.js'
import {cannotShareRows} from './same-row.js'
import {bindValue, counterUpdate, derivedRowsPerStatement, fieldUpdate, keyBinder, missingRows, plainCounterUpdate, plainFieldUpdate, type ColumnTypes, type Statement} from './statements.js'

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

/** The keyed entries of one key-column set (shape), in entry order. */
interface Shape {
  /** The key columns, sorted, joined with commas. */
  name: string
  /** The key columns, sorted. */
  keys: string[]
  entries: KeyedEntry[]
  indexes: number[]
}

/** A keyed entry with its position in the list and its shape. */
interface Placed<E extends KeyedEntry> {
  entry: E
  index: number
  shape: Shape
}

/**
 * Builds the set-based statements for entries: per shape of key columns, one UPDATE per chunk
 * that first aggregates the chunk per target row (so one row reached through several keys gets
 * every increment and a deterministic last write), then multi-row INSERTs. Used by the flush and
 * by `flush --dry-run`, so the dry run shows exactly what would run. Tight loops: this runs for
 * every entry of every flush.
 */
export function entryStatements(dialect: Dialect, table: string, entries: Entry[], insertBatchSize: number, info: TableInfo): EntryStatements {
  const types = info.types
  const shapes = new Map<string, Shape>()
  const counterShapes = new Map<string, Placed<CounterEntry>[]>()
  const ranked: Array<Placed<UpdateEntry>> = []
  const rows: Array<Record<string, Json>> = []
  let keyed = 0
  for (let index = 0; index < entries.length; index++) {
    const entry = entries[index]
    if (entry.kind === 'insert') {
      rows.push(entry.row)
      continue
    }
    keyed++
    const shape = shapeOf(shapes, entry.where)
    shape.entries.push(entry)
    shape.indexes.push(index)
    if (entry.kind === 'update') ranked.push({entry, index, shape})
    else {
      const group = counterShapes.get(shape.name)
      if (group) group.push({entry, index, shape})
      else counterShapes.set(shape.name, [{entry, index, shape}])
    }
  }
  const updates: PlannedStatement[] = []

  // Newest write wins; without times (or equal ones) the later entry wins. An entry without a
  // recorded time counts as older than any with one. Chunks go in rank order, so across chunks the
  // later statement carries the higher ranks.
  ranked.sort((a, b) => (a.entry.at ?? 0) - (b.entry.at ?? 0) || a.index - b.index)
  // Entries of different key-column sets go in different statements, which must still run in
  // rank order ({id: 1} and {id: 1, tenant: 'a'} can reach one row): one statement group per run
  // of consecutive entries of one set.
  for (let start = 0; start < ranked.length;) {
    const shape = ranked[start].shape
    let end = start + 1
    while (end < ranked.length && ranked[end].shape === shape) end++
    updates.push(...fieldStatements(dialect, table, ranked, start, end, info))
    start = end
  }

  for (const group of counterShapes.values()) updates.push(...counterStatements(dialect, table, group, info))

  // An entry whose key columns are not a unique key can reach several rows, so the UPDATEs can
  // change as many rows as there are entries while one entry reaches none: then always check.
  let mayReachSeveral = false
  for (const shape of shapes.values()) {
    if (!isUniqueKey(info, shape.keys) || (dialect === 'mysql' && shape.entries.some((entry) => looseMysqlKey(entry.where, types)))) mayReachSeveral = true
  }

  const checks = () => {
    const out: PlannedStatement[] = []
    for (const {keys, entries: group, indexes} of shapes.values()) {
      const binders = keys.map((column) => keyBinder(dialect, types[column]))
      const size = derivedRowsPerStatement(dialect, keys.length + 1)
      for (let lo = 0; lo < group.length; lo += size) {
        const hi = Math.min(group.length, lo + size)
        const chunk = new Array<unknown[]>(hi - lo)
        for (let e = lo; e < hi; e++) {
          const row = new Array<unknown>(keys.length + 1)
          row[0] = indexes[e]
          const where = group[e].where
          for (let k = 0; k < keys.length; k++) row[k + 1] = binders[k](where[keys[k]])
          chunk[e - lo] = row
        }
        out.push({kind: 'check', ...missingRows(dialect, table, keys, chunk, types)})
      }
    }
    return out
  }

  return {
    updates,
    keyed,
    mayReachSeveral,
    checks,
    inserts: insertStatements(dialect, table, rows, insertBatchSize, types).map((statement) => ({kind: 'insert', ...statement})),
    counts: {updates: ranked.length, counters: keyed - ranked.length, inserts: rows.length},
  }
}

/** Column updates of `ranked[start..end)`, entries of one key-column set in rank order (the rank is the position). */
function fieldStatements(dialect: Dialect, table: string, ranked: Array<Placed<UpdateEntry>>, start: number, end: number, info: TableInfo): PlannedStatement[] {
  const types = info.types
  const keys = ranked[start].shape.keys
  const named = new Set<string>()
  const wheres = new Array<UpdateEntry['where']>(end - start)
  for (let e = start; e < end; e++) {
    const entry = ranked[e].entry
    wheres[e - start] = entry.where
    for (const column of Object.keys(entry.fields)) named.add(column)
  }
  const all = [...named].sort()
  const position = new Map(all.map((column, i) => [column, i]))
  // No two entries can reach one row: each row takes its entry as it is, no ranking per row.
  const plain = cannotShareRows(dialect, keys, wheres, info)
  const binders = keys.map((column) => keyBinder(dialect, types[column]))
  const out: PlannedStatement[] = []
  const size = derivedRowsPerStatement(dialect, 1 + keys.length + 2 * all.length)
  for (let lo = start; lo < end; lo += size) {
    const hi = Math.min(end, lo + size)
    // Per column, how many entries of the chunk set it: none leaves it out, fewer than all flags it.
    const setBy = new Array<number>(all.length).fill(0)
    for (let e = lo; e < hi; e++) for (const column of Object.keys(ranked[e].entry.fields)) setBy[position.get(column)!]++
    const columns: string[] = []
    const flagged: boolean[] = []
    for (let i = 0; i < all.length; i++) {
      if (setBy[i] === 0) continue
      columns.push(all[i])
      flagged.push(setBy[i] < hi - lo)
    }
    const flags = flagged.filter(Boolean).length
    const lead = plain ? 0 : 1
    const width = lead + keys.length + flags + columns.length
    const rows = new Array<unknown[]>(hi - lo)
    for (let e = lo; e < hi; e++) {
      const {where, fields} = ranked[e].entry
      const row = new Array<unknown>(width)
      if (!plain) row[0] = e
      let at = lead
      for (let k = 0; k < keys.length; k++) row[at++] = binders[k](where[keys[k]])
      for (let i = 0; i < columns.length; i++) if (flagged[i]) row[at++] = Object.hasOwn(fields, columns[i]) ? 1 : 0
      for (let i = 0; i < columns.length; i++) row[at++] = Object.hasOwn(fields, columns[i]) ? bindValue(dialect, fields[columns[i]], types[columns[i]]) : null
      rows[e - lo] = row
    }
    const statement = plain ? plainFieldUpdate(dialect, table, keys, columns, flagged, rows, types) : fieldUpdate(dialect, table, keys, columns, flagged, rows, types)
    out.push({kind: 'update', ...statement})
  }
  return out
}

/** Counter increments of entries of one key-column set, in entry order. */
function counterStatements(dialect: Dialect, table: string, group: Array<Placed<CounterEntry>>, info: TableInfo): PlannedStatement[] {
  const types = info.types
  const keys = group[0].shape.keys
  const named = new Set<string>()
  const wheres = new Array<CounterEntry['where']>(group.length)
  for (let e = 0; e < group.length; e++) {
    wheres[e] = group[e].entry.where
    for (const column of Object.keys(group[e].entry.deltas)) named.add(column)
  }
  const columns = [...named].sort()
  // No two entries can reach one row: joined straight to the table, without summing per row.
  const plain = cannotShareRows(dialect, keys, wheres, info)
  // A unique key reaches at most one row per entry: no need to count entries apart (wbc_i).
  const unique = plain || isUniqueKey(info, keys)
  const binders = keys.map((column) => keyBinder(dialect, types[column]))
  const lead = unique ? 0 : 1
  const width = lead + keys.length + columns.length
  const out: PlannedStatement[] = []
  const size = derivedRowsPerStatement(dialect, 1 + keys.length + columns.length)
  for (let lo = 0; lo < group.length; lo += size) {
    const hi = Math.min(group.length, lo + size)
    const rows = new Array<unknown[]>(hi - lo)
    for (let e = lo; e < hi; e++) {
      const {entry, index} = group[e]
      const {where, deltas} = entry
      const row = new Array<unknown>(width)
      if (!unique) row[0] = index
      let at = lead
      for (let k = 0; k < keys.length; k++) row[at++] = binders[k](where[keys[k]])
      for (let i = 0; i < columns.length; i++) row[at++] = Object.hasOwn(deltas, columns[i]) ? (deltas[columns[i]] ?? 0) : 0
      rows[e - lo] = row
    }
    const statement = plain ? plainCounterUpdate(dialect, table, keys, columns, rows, types) : counterUpdate(dialect, table, keys, columns, rows, types, unique)
    out.push({kind: 'counter', ...statement})
  }
  return out
}

/** Whether the key columns include every column of one of the table's unique keys. */
function isUniqueKey(info: TableInfo, keys: string[]): boolean {
  return info.uniqueKeys.some((set) => set.every((column) => keys.includes(column)))
}

/** The shape of a key (its sorted key columns), shared by every entry of that key-column set. */
function shapeOf(shapes: Map<string, Shape>, where: KeyedEntry['where']): Shape {
  const columns = Object.keys(where)
  const name = columns.length === 1 ? columns[0] : columns.sort().join(',')
  let shape = shapes.get(name)
  if (!shape) {
    shape = {name, keys: columns, entries: [], indexes: []}
    shapes.set(name, shape)
  }
  return shape
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
  if (dialect === 'postgres' && namesUnknownColumn(entries, info.types)) {
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
  if (dialect === 'postgres' && namesUnknownColumn(entries, info.types)) return undefined
  return {entries, statements: entryStatements(dialect, table, entries, insertBatchSize, info), info: cached}
}

/** Whether the entries name a column (key, field, delta, inserted column) that `types` lacks. */
function namesUnknownColumn(entries: Entry[], types: ColumnTypes): boolean {
  const unknown = (named: Record<string, unknown>) => {
    for (const column of Object.keys(named)) if (!(column in types)) return true
    return false
  }
  for (const entry of entries) {
    if (entry.kind === 'insert' ? unknown(entry.row) : unknown(entry.where) || unknown(entry.kind === 'update' ? entry.fields : entry.deltas)) return true
  }
  return false
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

/**
 * MySQL compares a string column with a number as doubles ('01' = 1, '1x' = 1): a numeric value
 * for a key column wbc does not cast (not integer/decimal) can reach several rows of a unique key.
 */
function looseMysqlKey(where: Record<string, unknown>, types: ColumnTypes): boolean {
  return Object.entries(where).some(([column, value]) => typeof value !== 'string' && value !== null && types[column] === undefined)
}
