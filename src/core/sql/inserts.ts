import type {Dialect} from '../config/connections.js'
import {quote, rowsPerStatement, type ColumnTypes, type Statement} from './statements.js'
import {unnestRows} from './unnest.js'

/**
 * Shortest run of rows with one column set that PostgreSQL inserts from arrays; shorter runs go
 * together as multi-row VALUES with DEFAULT, so rows of alternating column sets do not cost a
 * statement each.
 */
const MIN_ARRAY_RUN = 64

/**
 * The INSERTs of queued rows (already bound: `bindValue`), in queue order, at most `batchSize`
 * rows each. A column a row leaves out gets its DEFAULT:
 * - PostgreSQL: each run of at least MIN_ARRAY_RUN consecutive rows with one column set is
 *   `INSERT … SELECT * FROM unnest(?::type[], …)` (one array per column, parsed by the column
 *   type's input function); shorter runs together as multi-row VALUES with the DEFAULT keyword;
 * - MySQL/MariaDB: multi-row VALUES with the DEFAULT keyword;
 * - SQLite has no DEFAULT in VALUES: one multi-row VALUES statement per run of one column set.
 */
export function insertStatements(dialect: Dialect, table: string, rows: Array<Record<string, unknown>>, batchSize: number, types: ColumnTypes): Statement[] {
  const out: Statement[] = []
  const values = (run: Array<Record<string, unknown>>) => {
    const columns = [...new Set(run.flatMap((row) => Object.keys(row)))]
    // Without columns PostgreSQL and SQLite have only `DEFAULT VALUES`, one row per statement.
    const size = columns.length === 0 && dialect !== 'mysql' ? 1 : Math.min(batchSize, rowsPerStatement(columns.length))
    for (let i = 0; i < run.length; i += size) out.push(insertRows(dialect, table, columns, run.slice(i, i + size)))
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
  let mixed: Array<Record<string, unknown>> = []
  for (const run of runs) {
    const columns = Object.keys(run[0])
    if (run.length < MIN_ARRAY_RUN || columns.length === 0) {
      mixed.push(...run)
      continue
    }
    if (mixed.length > 0) values(mixed)
    mixed = []
    for (let i = 0; i < run.length; i += batchSize) out.push(insertArrays(table, columns, run.slice(i, i + batchSize), types))
  }
  if (mixed.length > 0) values(mixed)
  return out
}

/** Maximal runs of consecutive rows with the same column set, in order. */
function runsOfColumnSets(rows: Array<Record<string, unknown>>): Array<Array<Record<string, unknown>>> {
  const runs: Array<Array<Record<string, unknown>>> = []
  let shape: string | undefined
  for (const row of rows) {
    const next = Object.keys(row).sort().join(',')
    if (next !== shape) runs.push([])
    shape = next
    runs.at(-1)!.push(row)
  }
  return runs
}

/** PostgreSQL: `INSERT INTO t (a, b) SELECT * FROM unnest(?::type[], ?::type[]) …` of rows that all have exactly `columns`. */
function insertArrays(table: string, columns: string[], rows: Array<Record<string, unknown>>, types: ColumnTypes): Statement {
  const q = (name: string) => quote('postgres', name)
  const derived = unnestRows(
    columns.map((column, i) => ({alias: `c${i}`, cast: types[column]})),
    rows.map((row) => columns.map((column) => row[column] ?? null)),
  )
  return {sql: `INSERT INTO ${q(table)} (${columns.map(q).join(', ')}) SELECT * FROM ${derived.sql}`, bindings: derived.bindings}
}

/**
 * One multi-row INSERT of rows that share a column list. A row without one of the columns gets the
 * column's DEFAULT (PostgreSQL, MySQL: the DEFAULT keyword; SQLite has none, so callers give it
 * rows of one column set). Rows with no columns at all: `DEFAULT VALUES` (MySQL `() VALUES ()`).
 */
export function insertRows(dialect: Dialect, table: string, columns: string[], rows: Array<Record<string, unknown>>): Statement {
  const q = (name: string) => quote(dialect, name)
  if (columns.length === 0) {
    if (dialect === 'mysql') return {sql: `INSERT INTO ${q(table)} () VALUES ${rows.map(() => '()').join(', ')}`, bindings: []}
    return {sql: `INSERT INTO ${q(table)} DEFAULT VALUES`, bindings: []}
  }
  const bindings: unknown[] = []
  const tuples = rows.map((row) => {
    const slots = columns.map((column) => {
      if (!(column in row) && dialect !== 'sqlite') return 'DEFAULT'
      bindings.push(row[column] ?? null)
      return '?'
    })
    return `(${slots.join(', ')})`
  })
  return {sql: `INSERT INTO ${q(table)} (${columns.map(q).join(', ')}) VALUES ${tuples.join(', ')}`, bindings}
}
