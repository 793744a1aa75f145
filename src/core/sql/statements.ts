import type {Knex} from 'knex'

import type {Dialect} from '../config/connections.js'
import type {Json} from '../ipc/types.js'

/** Identifiers are validated names (letters, digits, underscore), so quoting them is enough. */
export const quote = (dialect: Dialect, name: string) => (dialect === 'mysql' ? `\`${name}\`` : `"${name}"`)

/** PostgreSQL needs typed VALUES; the others coerce. Column types come from the table itself. */
export type ColumnTypes = Record<string, string>

const MAX_BINDINGS = 30000
const MAX_ROWS = 5000

/** Rows per statement so that bindings stay under every dialect's limit. */
export const rowsPerStatement = (columnsPerRow: number) => Math.max(1, Math.min(MAX_ROWS, Math.floor(MAX_BINDINGS / Math.max(1, columnsPerRow))))

/** How a value is bound: JSON documents as text, booleans as 1/0 on SQLite. */
export function bindValue(dialect: Dialect, value: Json | undefined): unknown {
  if (value === undefined || value === null) return null
  if (typeof value === 'object') return JSON.stringify(value)
  if (typeof value === 'boolean' && dialect === 'sqlite') return value ? 1 : 0
  return value
}

const PG_UNCASTABLE = new Set(['USER-DEFINED', 'ARRAY', ''])

/**
 * A derived table `v` of literal rows with named columns, the portable way:
 * PostgreSQL `(VALUES (?::type, …)) AS v(a, …)`, SQLite `(SELECT column1 AS a … FROM (VALUES …))`,
 * MySQL/MariaDB `(SELECT ? AS a … UNION ALL SELECT ? …)`.
 */
export function derivedRows(dialect: Dialect, columns: string[], rows: unknown[][], types: ColumnTypes): {sql: string; bindings: unknown[]} {
  const bindings = rows.flat()
  const q = (name: string) => quote(dialect, name)
  if (dialect === 'postgres') {
    const cast = (column: string) => {
      const type = types[column]
      return type && !PG_UNCASTABLE.has(type) ? `?::${type}` : '?'
    }
    const row = `(${columns.map(cast).join(', ')})`
    return {sql: `(VALUES ${rows.map(() => row).join(', ')}) AS v(${columns.map(q).join(', ')})`, bindings}
  }
  if (dialect === 'sqlite') {
    const row = `(${columns.map(() => '?').join(', ')})`
    const names = columns.map((column, i) => `column${i + 1} AS ${q(column)}`).join(', ')
    return {sql: `(SELECT ${names} FROM (VALUES ${rows.map(() => row).join(', ')})) AS v`, bindings}
  }
  const first = `SELECT ${columns.map((column) => `? AS ${q(column)}`).join(', ')}`
  const rest = `SELECT ${columns.map(() => '?').join(', ')}`
  return {sql: `(${[first, ...rows.slice(1).map(() => rest)].join(' UNION ALL ')}) AS v`, bindings}
}

const joinOn = (dialect: Dialect, keys: string[]) => keys.map((key) => `t.${quote(dialect, key)} = v.${quote(dialect, key)}`).join(' AND ')

/** `UPDATE t … FROM v`: one statement sets the listed columns for every row of `v`. */
export function updateFromRows(dialect: Dialect, table: string, keys: string[], assignments: Array<[string, string]>, derived: {sql: string; bindings: unknown[]}): {sql: string; bindings: unknown[]} {
  const q = (name: string) => quote(dialect, name)
  if (dialect === 'mysql') {
    const set = assignments.map(([column, expr]) => `t.${q(column)} = ${expr}`).join(', ')
    return {sql: `UPDATE ${q(table)} AS t JOIN ${derived.sql} ON ${joinOn(dialect, keys)} SET ${set}`, bindings: derived.bindings}
  }
  const set = assignments.map(([column, expr]) => `${q(column)} = ${expr}`).join(', ')
  return {sql: `UPDATE ${q(table)} AS t SET ${set} FROM ${derived.sql} WHERE ${joinOn(dialect, keys)}`, bindings: derived.bindings}
}

/** Indexes (column `wbc_i` of `v`) of the rows that match no row of the table. */
export function missingRows(dialect: Dialect, table: string, keys: string[], derived: {sql: string; bindings: unknown[]}): {sql: string; bindings: unknown[]} {
  const q = (name: string) => quote(dialect, name)
  return {
    sql: `SELECT v.${q('wbc_i')} AS i FROM ${derived.sql} WHERE NOT EXISTS (SELECT 1 FROM ${q(table)} AS t WHERE ${joinOn(dialect, keys)})`,
    bindings: derived.bindings,
  }
}

/**
 * Column types of a table, for PostgreSQL casts; cached per connection and table. Pass the
 * connection's own knex, not a transaction (each transaction is a new instance: no cache).
 */
const typeCache = new WeakMap<Knex, Map<string, Promise<ColumnTypes>>>()

export function columnTypes(knex: Knex, dialect: Dialect, table: string): Promise<ColumnTypes> {
  if (dialect !== 'postgres') return Promise.resolve({})
  let tables = typeCache.get(knex)
  if (!tables) {
    tables = new Map()
    typeCache.set(knex, tables)
  }
  let types = tables.get(table)
  if (!types) {
    types = knex(table)
      .columnInfo()
      .then((info) => Object.fromEntries(Object.entries(info).map(([column, meta]) => [column, String((meta as {type?: string}).type ?? '')])))
    types.catch(() => tables!.delete(table))
    tables.set(table, types)
  }
  return types
}
