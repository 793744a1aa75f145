import type {Knex} from 'knex'

import type {Dialect} from '../config/connections.js'
import type {ColumnTypes} from './statements.js'

/**
 * The cast types of a table's columns (see `ColumnTypes`), cached per connection and table. Pass
 * the connection's own knex, not a transaction (each transaction is a new instance: no cache).
 * PostgreSQL resolves the table as an unqualified name does (search_path), so the casts are those
 * of the table the statements write; a type outside the search_path comes schema-qualified.
 */
const typeCache = new WeakMap<Knex, Map<string, Promise<ColumnTypes>>>()

export function columnTypes(knex: Knex, dialect: Dialect, table: string): Promise<ColumnTypes> {
  if (dialect === 'sqlite') return Promise.resolve({})
  let tables = typeCache.get(knex)
  if (!tables) {
    tables = new Map()
    typeCache.set(knex, tables)
  }
  let types = tables.get(table)
  if (!types) {
    types = dialect === 'postgres' ? postgresTypes(knex, table) : mysqlTypes(knex, table)
    types.catch(() => tables!.delete(table))
    tables.set(table, types)
  }
  return types
}

async function postgresTypes(knex: Knex, table: string): Promise<ColumnTypes> {
  // Without a type modifier: `bpchar`, not `character` (which means char(1)); `numeric`, not numeric(10,2).
  const result = await knex.raw(
    `SELECT a.attname AS name, format_type(a.atttypid, -1) AS type FROM pg_catalog.pg_attribute a
     WHERE a.attrelid = to_regclass(?) AND a.attnum > 0 AND NOT a.attisdropped`,
    [`"${table.replaceAll('"', '""')}"`],
  )
  return Object.fromEntries((result.rows as Array<{name: string; type: string}>).map((row) => [row.name, row.type]))
}

const MYSQL_INTEGER = new Set(['tinyint', 'smallint', 'mediumint', 'int', 'integer', 'bigint'])

async function mysqlTypes(knex: Knex, table: string): Promise<ColumnTypes> {
  const [rows] = await knex.raw(
    `SELECT COLUMN_NAME AS name, DATA_TYPE AS type, COLUMN_TYPE AS full_type, NUMERIC_PRECISION AS p, NUMERIC_SCALE AS s
     FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ?`,
    [table],
  )
  const types: ColumnTypes = {}
  for (const row of rows as Array<{name: string; type: string; full_type: string; p: number | null; s: number | null}>) {
    const type = String(row.type).toLowerCase()
    if (MYSQL_INTEGER.has(type)) types[row.name] = /unsigned/i.test(String(row.full_type)) ? 'UNSIGNED' : 'SIGNED'
    else if (type === 'decimal' || type === 'numeric') types[row.name] = `DECIMAL(${Number(row.p ?? 10)},${Number(row.s ?? 0)})`
  }
  return types
}
