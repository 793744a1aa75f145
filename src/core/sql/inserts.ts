import type {Dialect} from '../config/connections.js'
import type {Json} from '../ipc/types.js'
import {bindValue, quote, rowsPerStatement, type ColumnTypes, type Statement} from './statements.js'
import {unnestColumns} from './unnest.js'

/**
 * Shortest run of rows with one column set that PostgreSQL inserts from arrays; shorter runs go
 * together as multi-row VALUES with DEFAULT, so rows of alternating column sets do not cost a
 * statement each.
 */
const MIN_ARRAY_RUN = 64

/**
 * The INSERTs of queued rows (as queued: each value is bound here, `bindValue`), in queue order,
 * at most `batchSize` rows each. A column a row leaves out gets its DEFAULT:
 * - PostgreSQL: each run of at least MIN_ARRAY_RUN consecutive rows with one column set is
 *   `INSERT … SELECT * FROM unnest(?::type[], …)` (one array per column, parsed by the column
 *   type's input function); shorter runs together as multi-row VALUES with the DEFAULT keyword;
 * - MySQL/MariaDB: multi-row VALUES with the DEFAULT keyword;
 * - SQLite has no DEFAULT in VALUES: one multi-row VALUES statement per run of one column set.
 * Rows of one column set (the usual queue) need no DEFAULT: every tuple is the same `(?, ?, …)`.
 */
export function insertStatements(dialect: Dialect, table: string, rows: Array<Record<string, Json>>, batchSize: number, types: ColumnTypes): Statement[] {
  const out: Statement[] = []
  const values = (run: Array<Record<string, Json>>) => {
    const columns = columnsOf(run)
    // Without columns PostgreSQL and SQLite have only `DEFAULT VALUES`, one row per statement.
    const size = columns.length === 0 && dialect !== 'mysql' ? 1 : Math.min(batchSize, rowsPerStatement(columns.length))
    for (let i = 0; i < run.length; i += size) out.push(insertRows(dialect, table, columns, run.slice(i, i + size), types))
  }
  if (dialect === 'mysql') {
    if (rows.length > 0) values(rows)
    return out
  }
  const runs = runsOfColumnSets(rows)
  if (dialect === 'sqlite') {
    for (const run of runs) values(run)
    return out
  }
  let mixed: Array<Record<string, Json>> = []
  for (const run of runs) {
    const columns = Object.keys(run[0])
    if (run.length < MIN_ARRAY_RUN || columns.length === 0) {
      for (const row of run) mixed.push(row)
      continue
    }
    if (mixed.length > 0) values(mixed)
    mixed = []
    for (let i = 0; i < run.length; i += batchSize) out.push(insertArrays(table, columns, run, i, Math.min(run.length, i + batchSize), types))
  }
  if (mixed.length > 0) values(mixed)
  return out
}

/** Whether two key lists are the same list (the usual case: rows written by one code path). */
function sameList(a: string[], b: string[]): boolean {
  if (a.length !== b.length) return false
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false
  return true
}

/** Every column the rows name, in order of first appearance. */
function columnsOf(rows: Array<Record<string, Json>>): string[] {
  const columns = new Set<string>()
  let last: string[] = []
  for (const row of rows) {
    const keys = Object.keys(row)
    if (sameList(keys, last)) continue
    for (const key of keys) columns.add(key)
    last = keys
  }
  return [...columns]
}

/** Maximal runs of consecutive rows with the same column set (in any order), in order. */
function runsOfColumnSets(rows: Array<Record<string, Json>>): Array<Array<Record<string, Json>>> {
  const runs: Array<Array<Record<string, Json>>> = []
  let [keys, shape]: [string[], string | undefined] = [[], undefined]
  for (const row of rows) {
    const next = Object.keys(row)
    if (shape === undefined || !sameList(next, keys)) {
      const name = [...next].sort().join(',')
      if (name !== shape) runs.push([])
      shape = name
      keys = next
    }
    runs[runs.length - 1].push(row)
  }
  return runs
}

/** PostgreSQL: `INSERT INTO t (a, b) SELECT * FROM unnest(?::type[], ?::type[]) …` of `rows[lo..hi)`, which all have exactly `columns`. */
function insertArrays(table: string, columns: string[], rows: Array<Record<string, Json>>, lo: number, hi: number, types: ColumnTypes): Statement {
  const q = (name: string) => quote('postgres', name)
  const values = columns.map((column) => {
    const type = types[column]
    const bound = new Array<unknown>(hi - lo)
    for (let r = lo; r < hi; r++) bound[r - lo] = bindValue('postgres', rows[r][column], type)
    return bound
  })
  const derived = unnestColumns(
    columns.map((column, i) => ({alias: `c${i}`, cast: types[column]})),
    values,
  )
  return {sql: `INSERT INTO ${q(table)} (${columns.map(q).join(', ')}) SELECT * FROM ${derived.sql}`, bindings: derived.bindings}
}

/**
 * One multi-row INSERT of rows that share a column list. A row without one of the columns gets the
 * column's DEFAULT (PostgreSQL, MySQL: the DEFAULT keyword; SQLite has none, so callers give it
 * rows of one column set). Rows with no columns at all: `DEFAULT VALUES` (MySQL `() VALUES ()`).
 */
export function insertRows(dialect: Dialect, table: string, columns: string[], rows: Array<Record<string, Json>>, types: ColumnTypes): Statement {
  const q = (name: string) => quote(dialect, name)
  if (columns.length === 0) {
    if (dialect === 'mysql') return {sql: `INSERT INTO ${q(table)} () VALUES ${new Array<string>(rows.length).fill('()').join(', ')}`, bindings: []}
    return {sql: `INSERT INTO ${q(table)} DEFAULT VALUES`, bindings: []}
  }
  const columnTypes = columns.map((column) => types[column])
  const bindings = new Array<unknown>(rows.length * columns.length)
  const tuples = new Array<string>(rows.length)
  const full = `(${new Array<string>(columns.length).fill('?').join(', ')})`
  let at = 0
  for (let r = 0; r < rows.length; r++) {
    const row = rows[r]
    let complete = true
    for (let c = 0; c < columns.length; c++) {
      if (dialect !== 'sqlite' && !Object.hasOwn(row, columns[c])) complete = false
      else bindings[at++] = bindValue(dialect, row[columns[c]], columnTypes[c])
    }
    tuples[r] = complete ? full : `(${columns.map((column) => (Object.hasOwn(row, column) ? '?' : 'DEFAULT')).join(', ')})`
  }
  bindings.length = at
  return {sql: `INSERT INTO ${q(table)} (${columns.map(q).join(', ')}) VALUES ${tuples.join(', ')}`, bindings}
}
