import type {Knex} from 'knex'

import type {Dialect} from '../config/connections.js'
import type {ColumnTypes} from './statements.js'

/** What the statements need to know about a table. */
export interface TableInfo {
  /** Cast types per column (see `ColumnTypes`). */
  types: ColumnTypes
  /** Column sets of its primary key and unique indexes (no partial or expression indexes). */
  uniqueKeys: string[][]
  /** Per column, how the database compares its key values, where wbc can tell (see `KeyRule`). */
  keyRules: Record<string, KeyRule>
}

/**
 * How equal key values of a column are recognised in JavaScript (`src/core/sql/same-row.ts`), so
 * a batch whose entries cannot reach one row is updated without aggregating per target row.
 * PostgreSQL: `integer` (smallint/integer/bigint), `decimal` (numeric), `text` (text, varchar
 * and enums under a deterministic collation: byte equality), `bpchar` (the same, trailing spaces
 * not significant), `uuid`, `boolean`, `date`. MySQL/MariaDB: `bound` (integer and decimal
 * columns, whose key values are bound in one exact spelling by `bindKey`). SQLite: `sqlite` (any
 * column of a table without an application-defined collation: affinity and the built-in
 * collations). A column without a rule (citext, a case-insensitive collation, a domain, MySQL
 * strings…) always takes the aggregated path.
 */
export type KeyRule = 'integer' | 'decimal' | 'text' | 'bpchar' | 'uuid' | 'boolean' | 'date' | 'bound' | 'sqlite'

/**
 * A table's column types and unique keys, cached per connection and table. Pass the connection's
 * own knex (each transaction is a new instance: no cache) and, as `executor`, the transaction in
 * progress if there is one (a SQLite pool has a single connection, which the transaction holds). PostgreSQL resolves
 * the table as an unqualified name does (search_path), so the casts are those of the table the
 * statements write; a type outside the search_path comes schema-qualified.
 */
const cache = new WeakMap<Knex, Map<string, Promise<TableInfo>>>()

export function tableInfo(knex: Knex, dialect: Dialect, table: string, executor: Knex | Knex.Transaction = knex): Promise<TableInfo> {
  let tables = cache.get(knex)
  if (!tables) {
    tables = new Map()
    cache.set(knex, tables)
  }
  let info = tables.get(table)
  if (!info) {
    info = dialect === 'postgres' ? postgresInfo(executor, table) : dialect === 'mysql' ? mysqlInfo(executor, table) : sqliteInfo(executor, table)
    info.catch(() => tables!.delete(table))
    tables.set(table, info)
  }
  return info
}

/** The table's info as cached now (the same promise tableInfo answers), or undefined: reads nothing. */
export function cachedTableInfo(knex: Knex, table: string): Promise<TableInfo> | undefined {
  return cache.get(knex)?.get(table)
}

/**
 * Drops a table's cached info, so the next call reads it again: after a statement failed (a
 * column's type may have changed) or when a column is missing from it (added since).
 */
export function forgetTableInfo(knex: Knex, table: string): void {
  cache.get(knex)?.delete(table)
}

/**
 * Drops every table's cached info of a connection: each flush starts from the schema as it is, so
 * a migration between flushes (a key column's collation made case-insensitive, say) is seen before
 * the plain path could let two spellings of one row apply as two rows.
 */
export function forgetAllTableInfo(knex: Knex): void {
  cache.delete(knex)
}

const pgName = (table: string) => `"${table.replaceAll('"', '""')}"`

async function postgresInfo(knex: Knex | Knex.Transaction, table: string): Promise<TableInfo> {
  // Without a type modifier: `bpchar`, not `character` (which means char(1)); `numeric`, not numeric(10,2).
  // `collisdeterministic` is read through to_jsonb: the column does not exist before PostgreSQL 12,
  // whose collations are all deterministic (NULL there, and for types without a collation).
  const columns = await knex.raw(
    `SELECT a.attname AS name, format_type(a.atttypid, -1) AS type, t.typtype AS kind,
       (SELECT to_jsonb(c) ->> 'collisdeterministic' FROM pg_catalog.pg_collation c WHERE c.oid = a.attcollation) AS deterministic
     FROM pg_catalog.pg_attribute a JOIN pg_catalog.pg_type t ON t.oid = a.atttypid
     WHERE a.attrelid = to_regclass(?) AND a.attnum > 0 AND NOT a.attisdropped`,
    [pgName(table)],
  )
  const unique = await knex.raw(
    `SELECT array_agg(a.attname::text) AS columns FROM pg_catalog.pg_index i
     JOIN pg_catalog.pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey)
     WHERE i.indrelid = to_regclass(?) AND i.indisunique AND i.indpred IS NULL AND i.indexprs IS NULL
     GROUP BY i.indexrelid`,
    [pgName(table)],
  )
  const rows = columns.rows as Array<{name: string; type: string; kind: string; deterministic: string | null}>
  const keyRules = nameMap<KeyRule>([])
  for (const row of rows) {
    const rule = row.kind === 'e' ? 'text' : PG_KEY_RULES[row.type]
    if (rule && (row.deterministic ?? 'true') === 'true') keyRules[row.name] = rule
  }
  return {
    // A type's name goes into the statements' text, where knex reads ? and ?? as placeholders: a
    // name holding one (a quoted enum or domain name) is escaped for knex.
    types: nameMap(rows.map((row) => [row.name, row.type.replaceAll('?', '\\?')])),
    uniqueKeys: (unique.rows as Array<{columns: string[]}>).map((row) => row.columns),
    keyRules,
  }
}

/** Built-in PostgreSQL types (as `format_type` names them) whose key equality wbc can tell. */
const PG_KEY_RULES: Record<string, KeyRule> = {
  smallint: 'integer',
  integer: 'integer',
  bigint: 'integer',
  numeric: 'decimal',
  text: 'text',
  'character varying': 'text',
  bpchar: 'bpchar',
  uuid: 'uuid',
  boolean: 'boolean',
  date: 'date',
}

const MYSQL_INTEGER = new Set(['tinyint', 'smallint', 'mediumint', 'int', 'integer', 'bigint'])

async function mysqlInfo(knex: Knex | Knex.Transaction, table: string): Promise<TableInfo> {
  const [columns] = await knex.raw(
    `SELECT COLUMN_NAME AS name, DATA_TYPE AS type, COLUMN_TYPE AS full_type, NUMERIC_PRECISION AS p, NUMERIC_SCALE AS s
     FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ?`,
    [table],
  )
  const types: ColumnTypes = nameMap([])
  for (const row of columns as Array<{name: string; type: string; full_type: string; p: number | null; s: number | null}>) {
    const type = String(row.type).toLowerCase()
    if (MYSQL_INTEGER.has(type)) types[row.name] = /unsigned/i.test(String(row.full_type)) ? 'UNSIGNED' : 'SIGNED'
    else if (type === 'decimal' || type === 'numeric') types[row.name] = `DECIMAL(${Number(row.p ?? 10)},${Number(row.s ?? 0)})`
  }
  const [indexes] = await knex.raw(
    `SELECT INDEX_NAME AS name, COLUMN_NAME AS col FROM information_schema.STATISTICS
     WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ? AND NON_UNIQUE = 0`,
    [table],
  )
  const keyRules = nameMap(Object.keys(types).map((column): [string, KeyRule] => [column, 'bound']))
  return {types, uniqueKeys: groupColumns(indexes as Array<{name: string; col: string | null}>), keyRules}
}

async function sqliteInfo(knex: Knex | Knex.Transaction, table: string): Promise<TableInfo> {
  const name = pgName(table)
  const columns = (await knex.raw(`PRAGMA table_info(${name})`)) as Array<{name: string; pk: number}>
  const primary = columns.filter((c) => c.pk > 0).map((c) => c.name)
  const rows: Array<{name: string; col: string | null}> = []
  for (const index of (await knex.raw(`PRAGMA index_list(${name})`)) as Array<{name: string; unique: number; partial: number}>) {
    if (!index.unique || index.partial) continue
    for (const column of (await knex.raw(`PRAGMA index_info(${pgName(index.name)})`)) as Array<{name: string | null}>) rows.push({name: index.name, col: column.name})
  }
  // An application-defined collation can make any two values equal: then no rule for the table.
  const [created] = (await knex.raw(`SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?`, [table])) as Array<{sql: string | null}>
  // (A table it cannot read the definition of, a temporary one say, gets none either.)
  const collations = [...String(created?.sql ?? '').matchAll(/\bCOLLATE\s+["'`[]?(\w+)/gi)].map((match) => match[1].toUpperCase())
  const builtIn = typeof created?.sql === 'string' && collations.every((name) => SQLITE_COLLATIONS.has(name))
  const keyRules = nameMap(builtIn ? columns.map((column): [string, KeyRule] => [column.name, 'sqlite']) : [])
  return {types: nameMap([]), uniqueKeys: [...(primary.length > 0 ? [primary] : []), ...groupColumns(rows)], keyRules}
}

const SQLITE_COLLATIONS = new Set(['BINARY', 'NOCASE', 'RTRIM'])

/**
 * A map of column names without a prototype: `types[column]` and `column in types` see only the
 * table's columns, never what every object inherits (a column named constructor or toString that
 * the table lacks is unknown, and has no type).
 */
function nameMap<T>(entries: Array<[string, T]>): Record<string, T> {
  const map = Object.create(null) as Record<string, T>
  for (const [name, value] of entries) map[name] = value
  return map
}

/** Index rows → column sets; an index with an expression column (no name) cannot vouch for uniqueness. */
function groupColumns(rows: Array<{name: string; col: string | null}>): string[][] {
  const sets = new Map<string, Array<string | null>>()
  for (const row of rows) sets.set(row.name, [...(sets.get(row.name) ?? []), row.col])
  return [...sets.values()].filter((set): set is string[] => set.every((column) => typeof column === 'string'))
}
