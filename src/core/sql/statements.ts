import type {Dialect} from '../config/connections.js'
import type {Json} from '../ipc/types.js'
import type {DerivedColumn, Statement} from './statement.js'
import {unnestRows} from './unnest.js'

/** SQL text with knex `?` placeholders and its bound values, run with `knex.raw`. */
export type {DerivedColumn, Statement} from './statement.js'

/**
 * Quotes an identifier. Names are validated before they get here, but quoting is safe on its own:
 * the quote character is doubled, and `?` (knex's placeholder) is escaped so it cannot take a binding.
 */
export function quote(dialect: Dialect, name: string): string {
  const mark = dialect === 'mysql' ? '`' : '"'
  return `${mark}${name.replaceAll(mark, mark + mark).replaceAll('?', '\\?')}${mark}`
}

/**
 * Per column, the type its bound values are cast to. PostgreSQL: the column's type without length,
 * precision or scale (`format_type(atttypid, -1)`: `bpchar`, `numeric`, `character varying`, an
 * enum, a domain, `integer[]`), so a value is compared exactly and assigned under the column's own
 * limits (an explicit cast to `varchar(5)` or `char(2)` would truncate silently). MySQL/MariaDB:
 * the CAST target of integer and decimal columns (`SIGNED`, `UNSIGNED`, `DECIMAL(p,s)`), used for
 * key values so a string compares exactly instead of as a double. SQLite: none (affinity decides).
 */
export type ColumnTypes = Record<string, string>

const MAX_BINDINGS = 30000
const MAX_ROWS = 5000

/** Rows per statement so that bindings stay under every dialect's limit. */
export const rowsPerStatement = (columnsPerRow: number) => Math.max(1, Math.min(MAX_ROWS, Math.floor(MAX_BINDINGS / Math.max(1, columnsPerRow))))

/** Rows per statement over a `derivedTable`: PostgreSQL binds one array per column, the others one value per cell. */
export const derivedRowsPerStatement = (dialect: Dialect, columnsPerRow: number) => (dialect === 'postgres' ? MAX_ROWS : rowsPerStatement(columnsPerRow))

/**
 * How a value is bound: JSON documents as text, booleans as 1/0 on SQLite, arrays as arrays for a
 * PostgreSQL array column (the driver writes the array literal).
 */
export function bindValue(dialect: Dialect, value: Json | undefined, type?: string): unknown {
  if (value === undefined || value === null) return null
  if (Array.isArray(value) && dialect === 'postgres' && type?.endsWith('[]')) return value
  if (typeof value === 'object') return JSON.stringify(value)
  if (typeof value === 'boolean' && dialect === 'sqlite') return value ? 1 : 0
  return value
}

/**
 * How a key value is bound. MySQL/MariaDB: a value for an integer or decimal column (cast to
 * `SIGNED`/`UNSIGNED`/`DECIMAL(p,s)`) is first checked to be exactly a value of that type; CAST
 * would round (1.5 → 2, '1.005' → 1.01 in DECIMAL(10,2)) or clamp (too large → the maximum) and so
 * reach another row. A value that is not is bound as NULL, which matches no row (the entry is
 * reported missing). Other dialects and types: as `bindValue`.
 */
export function bindKey(dialect: Dialect, value: Json | undefined, type?: string): unknown {
  return keyBinder(dialect, type)(value)
}

/** Integer text that is its own exact spelling and fits a signed 64-bit integer: at most 18 digits, no leading zero. */
const PLAIN_INTEGER = /^-?[1-9]\d{0,17}$/

/**
 * `bindKey` for one column type, the type's rule resolved once: the statements bind a key
 * column's values for thousands of entries in a row.
 */
export function keyBinder(dialect: Dialect, type?: string): (value: Json | undefined) => unknown {
  const other = (value: Json | undefined) => bindValue(dialect, value, type)
  if (dialect !== 'mysql' || !type) return other
  const decimal = /^DECIMAL\((\d+),(\d+)\)$/.exec(type)
  if (decimal) {
    const [p, scale] = [Number(decimal[1]), Number(decimal[2])]
    return (value) => {
      if (typeof value !== 'number' && typeof value !== 'string') return other(value)
      const exact = exactDecimal(value)
      if (!exact) return null
      const [, whole, fraction] = exact
      return fraction.length <= scale && (whole === '0' ? 0 : whole.length) <= p - scale ? exact[0] : null
    }
  }
  if (type !== 'SIGNED' && type !== 'UNSIGNED') return other
  const unsigned = type === 'UNSIGNED'
  return (value) => {
    // The common keys, a safe integer or its plain text, are their own exact spelling.
    if (typeof value === 'number' && Number.isSafeInteger(value)) return unsigned && value < 0 ? null : String(value)
    if (typeof value === 'string' && (value === '0' || PLAIN_INTEGER.test(value))) return unsigned && value.startsWith('-') ? null : value
    if (typeof value !== 'number' && typeof value !== 'string') return other(value)
    const exact = exactDecimal(value)
    if (!exact || exact[2].length > 0) return null
    const n = BigInt(exact[0])
    const fits = unsigned ? n >= 0n && n < 2n ** 64n : n >= -(2n ** 63n) && n < 2n ** 63n
    return fits ? exact[0] : null
  }
}

/**
 * A number or numeric string (surrounding spaces, sign, exponent allowed) as a plain decimal:
 * [text, integer digits without leading zeros, fraction digits without trailing zeros]; null if not numeric.
 */
export function exactDecimal(value: number | string): [string, string, string] | null {
  if (typeof value === 'number' && !Number.isFinite(value)) return null
  const match = /^([+-]?)(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/.exec(String(value).trim())
  if (!match || (match[2] === '' && (match[3] ?? '') === '')) return null
  const sign = match[1] === '-' ? '-' : ''
  let digits = match[2] + (match[3] ?? '')
  let point = match[2].length + Number(match[4] ?? 0)
  if (Math.abs(point) > 100) return null
  if (point < 0) [digits, point] = ['0'.repeat(-point) + digits, 0]
  if (point > digits.length) digits += '0'.repeat(point - digits.length)
  const whole = digits.slice(0, point).replace(/^0+/, '') || '0'
  const fraction = digits.slice(point).replace(/0+$/, '')
  const text = `${whole === '0' && fraction === '' ? '' : sign}${whole}${fraction ? `.${fraction}` : ''}`
  return [text, whole, fraction]
}

/** A column of a derived table: its alias (a fixed safe name) and the type its values are cast to. */

/**
 * A derived table `v` of literal rows with named columns, the portable way:
 * PostgreSQL `(VALUES (CAST(? AS type), …)) AS v(a, …)`, SQLite `(SELECT column1 AS a … FROM (VALUES …))`,
 * MySQL/MariaDB `(SELECT CAST(u.a AS SIGNED) AS a, u.b AS b FROM (SELECT ? AS a, ? AS b UNION ALL SELECT ?, ? …) AS u)`.
 */
export function derivedRows(dialect: Dialect, columns: DerivedColumn[], rows: unknown[][]): Statement {
  const bindings = new Array<unknown>(rows.length * columns.length)
  let at = 0
  for (const row of rows) for (let i = 0; i < columns.length; i++) bindings[at++] = row[i]
  const slot = ({cast}: DerivedColumn) => (cast && dialect !== 'sqlite' ? `CAST(? AS ${cast})` : '?')
  // Every row but the first is spelled alike: the text is one repeated piece.
  if (dialect === 'postgres') {
    const row = `(${columns.map(slot).join(', ')})`
    return {sql: `(VALUES ${row}${`, ${row}`.repeat(Math.max(0, rows.length - 1))}) AS v(${columns.map((c) => c.alias).join(', ')})`, bindings}
  }
  if (dialect === 'sqlite') {
    const row = `(${columns.map(() => '?').join(', ')})`
    const names = columns.map((column, i) => `column${i + 1} AS ${column.alias}`).join(', ')
    return {sql: `(SELECT ${names} FROM (VALUES ${row}${`, ${row}`.repeat(Math.max(0, rows.length - 1))})) AS v`, bindings}
  }
  // The casts go once around the rows (CAST of the bound text, as CAST(? AS …) is): a shorter
  // text for the driver to fill in and the server to parse.
  const first = `SELECT ${columns.map((column) => `? AS ${column.alias}`).join(', ')}`
  const rest = ` UNION ALL SELECT ${columns.map(() => '?').join(', ')}`
  const union = `${first}${rest.repeat(Math.max(0, rows.length - 1))}`
  if (!columns.some((column) => column.cast)) return {sql: `(${union}) AS v`, bindings}
  const casts = columns.map(({alias, cast}) => (cast ? `CAST(u.${alias} AS ${cast}) AS ${alias}` : `u.${alias} AS ${alias}`))
  return {sql: `(SELECT ${casts.join(', ')} FROM (${union}) AS u) AS v`, bindings}
}

/** The derived table the statements use: typed arrays (`unnestRows`) on PostgreSQL, `derivedRows` elsewhere. */
export function derivedTable(dialect: Dialect, columns: DerivedColumn[], rows: unknown[][]): Statement {
  return dialect === 'postgres' ? unnestRows(columns, rows) : derivedRows(dialect, columns, rows)
}

/** The key columns of `v` are `k0, k1, …` in the order of `keys`; value columns `c0, c1, …`; flags `s0, …`. */
const keyAlias = (i: number) => `k${i}`
const valueAlias = (i: number) => `c${i}`
const flagAlias = (i: number) => `s${i}`

/**
 * Typed derived-table columns. Key and value columns take their column's type; counter deltas go
 * as `numeric` on PostgreSQL (the column's arithmetic and assignment decide), index/rank/flags as integers.
 */
function keyColumns(dialect: Dialect, keys: string[], types: ColumnTypes): DerivedColumn[] {
  return keys.map((key, i) => ({alias: keyAlias(i), cast: types[key]}))
}
const intColumn = (dialect: Dialect, alias: string): DerivedColumn => ({alias, cast: dialect === 'postgres' ? 'integer' : undefined})

const PG_NUMERIC = /^(smallint|integer|bigint|numeric|real|double precision)$/

/** A counter delta goes as `numeric` on PostgreSQL (the column's arithmetic and assignment decide); a non-numeric column's own type. */
function deltaCast(dialect: Dialect, column: string, types: ColumnTypes): string | undefined {
  if (dialect !== 'postgres') return undefined
  const type = types[column]
  return !type || PG_NUMERIC.test(type) ? 'numeric' : type
}

/** `v JOIN table AS t2 ON t2.key = v.k0 …`: the table's rows each derived row reaches, compared by the database's own rules. */
function reached(dialect: Dialect, table: string, keys: string[], derived: Statement): string {
  const q = (name: string) => quote(dialect, name)
  return `${derived.sql} JOIN ${q(table)} AS t2 ON ${keys.map((key, i) => `t2.${q(key)} = v.${keyAlias(i)}`).join(' AND ')}`
}

/**
 * `UPDATE table AS t … FROM a` (MySQL: `UPDATE table AS t JOIN a ON … SET …`) where `a` holds one
 * row per group of target rows (the target's own key values), so no target row is joined twice.
 */
function updateFromAggregate(dialect: Dialect, table: string, keys: string[], assignments: Array<[string, string]>, aggregate: string, bindings: unknown[]): Statement {
  const q = (name: string) => quote(dialect, name)
  const on = keys.map((key, i) => `t.${q(key)} = a.${keyAlias(i)}`).join(' AND ')
  if (dialect === 'mysql') {
    const set = assignments.map(([column, expr]) => `t.${q(column)} = ${expr}`).join(', ')
    return {sql: `UPDATE ${q(table)} AS t JOIN ${aggregate} AS a ON ${on} SET ${set}`, bindings}
  }
  const set = assignments.map(([column, expr]) => `${q(column)} = ${expr}`).join(', ')
  return {sql: `UPDATE ${q(table)} AS t SET ${set} FROM ${aggregate} AS a WHERE ${on}`, bindings}
}

/**
 * Counter increments: rows `[wbc_i, ...key values, ...deltas]` (without `wbc_i` when `keyIsUnique`).
 * The deltas are summed per target row before the update: the derived rows are joined to the
 * rows they reach and grouped by the target's own key values (`GROUP BY t2.key`), so entries that
 * address one row through different encodings (1 and '1', 'bob' and 'Bob' under a case-insensitive
 * collation, 'A' and 'A ' in a char(n) column) all count. When the key columns are not known to
 * be unique, `SELECT DISTINCT (target key, wbc_i, …)` first counts each entry once per group even
 * if it reaches several rows.
 */
export function counterUpdate(dialect: Dialect, table: string, keys: string[], columns: string[], rows: unknown[][], types: ColumnTypes, keyIsUnique: boolean): Statement {
  const q = (name: string) => quote(dialect, name)
  const index = keyIsUnique ? [] : [intColumn(dialect, 'wbc_i')]
  const derived = derivedTable(dialect, [...index, ...keyColumns(dialect, keys, types), ...columns.map((c, i) => ({alias: valueAlias(i), cast: deltaCast(dialect, c, types)}))], rows)
  const ks = keys.map((_, i) => keyAlias(i))
  const cs = columns.map((_, i) => valueAlias(i))
  const targetKeys = keys.map((key, i) => `t2.${q(key)} AS ${ks[i]}`)
  const aggregate = keyIsUnique
    ? `(SELECT ${[...targetKeys, ...cs.map((c) => `SUM(v.${c}) AS ${c}`)].join(', ')} FROM ${reached(dialect, table, keys, derived)} GROUP BY ${keys.map((key) => `t2.${q(key)}`).join(', ')})`
    : `(SELECT ${[...ks.map((k) => `d.${k} AS ${k}`), ...cs.map((c) => `SUM(d.${c}) AS ${c}`)].join(', ')} FROM (SELECT DISTINCT ${[...targetKeys, 'v.wbc_i AS wbc_i', ...cs.map((c) => `v.${c} AS ${c}`)].join(', ')} FROM ${reached(dialect, table, keys, derived)}) AS d GROUP BY ${ks.map((k) => `d.${k}`).join(', ')})`
  // A NULL counter column counts as 0.
  return updateFromAggregate(
    dialect,
    table,
    keys,
    columns.map((c, i) => [c, `COALESCE(t.${q(c)}, 0) + a.${cs[i]}`]),
    aggregate,
    derived.bindings,
  )
}

/**
 * Column updates, last write wins: rows `[wbc_o, ...key values, ...flags, ...values]`, where
 * `wbc_o` ranks the entries (higher wins) and a flag (for the columns listed in `flagged`) says
 * whether the entry sets that column. Per target row and column, the value of the highest-ranked
 * entry that sets it is taken (window functions partitioned by the target's key values), then
 * each target row is updated once.
 */
export function fieldUpdate(dialect: Dialect, table: string, keys: string[], columns: string[], flagged: boolean[], rows: unknown[][], types: ColumnTypes): Statement {
  const q = (name: string) => quote(dialect, name)
  const flags = columns.flatMap((_, i) => (flagged[i] ? [intColumn(dialect, flagAlias(i))] : []))
  const derived = derivedTable(
    dialect,
    [intColumn(dialect, 'wbc_o'), ...keyColumns(dialect, keys, types), ...flags, ...columns.map((c, i) => ({alias: valueAlias(i), cast: dialect === 'postgres' ? types[c] : undefined}))],
    rows,
  )
  const ks = keys.map((_, i) => keyAlias(i))
  const partition = `PARTITION BY ${keys.map((key) => `t2.${q(key)}`).join(', ')}`
  const picks = columns.flatMap((_, i) => {
    const order = flagged[i] ? `v.${flagAlias(i)} DESC, v.wbc_o DESC` : 'v.wbc_o DESC'
    const value = `FIRST_VALUE(v.${valueAlias(i)}) OVER (${partition} ORDER BY ${order}) AS ${valueAlias(i)}`
    return flagged[i] ? [value, `MAX(v.${flagAlias(i)}) OVER (${partition}) AS ${flagAlias(i)}`] : [value]
  })
  const ranked = `SELECT ${[...keys.map((key, i) => `t2.${q(key)} AS ${ks[i]}`), ...picks, `ROW_NUMBER() OVER (${partition} ORDER BY v.wbc_o DESC) AS wbc_n`].join(', ')} FROM ${reached(dialect, table, keys, derived)}`
  const outputs = [...ks, ...columns.flatMap((_, i) => (flagged[i] ? [valueAlias(i), flagAlias(i)] : [valueAlias(i)]))]
  const aggregate = `(SELECT ${outputs.map((name) => `w.${name} AS ${name}`).join(', ')} FROM (${ranked}) AS w WHERE w.wbc_n = 1)`
  const assignments = columns.map((c, i): [string, string] => [c, flagged[i] ? `CASE WHEN a.${flagAlias(i)} = 1 THEN a.${valueAlias(i)} ELSE t.${q(c)} END` : `a.${valueAlias(i)}`])
  return updateFromAggregate(dialect, table, keys, assignments, aggregate, derived.bindings)
}

/**
 * Counter increments when no two rows reach one target row (`cannotShareRows`): rows `[...key
 * values, ...deltas]` joined straight to the table, no aggregation. A NULL counter column counts as 0.
 */
export function plainCounterUpdate(dialect: Dialect, table: string, keys: string[], columns: string[], rows: unknown[][], types: ColumnTypes): Statement {
  const derived = derivedTable(dialect, [...keyColumns(dialect, keys, types), ...columns.map((c, i) => ({alias: valueAlias(i), cast: deltaCast(dialect, c, types)}))], rows)
  return updateFromDerived(
    dialect,
    table,
    keys,
    columns.map((c, i) => [c, `COALESCE(t.${quote(dialect, c)}, 0) + v.${valueAlias(i)}`]),
    derived,
  )
}

/**
 * Column updates when no two rows reach one target row: rows `[...key values, ...flags, ...values]`
 * (flags as in `fieldUpdate`), joined straight to the table; ranks do not matter.
 */
export function plainFieldUpdate(dialect: Dialect, table: string, keys: string[], columns: string[], flagged: boolean[], rows: unknown[][], types: ColumnTypes): Statement {
  const flags = columns.flatMap((_, i) => (flagged[i] ? [intColumn(dialect, flagAlias(i))] : []))
  const derived = derivedTable(dialect, [...keyColumns(dialect, keys, types), ...flags, ...columns.map((c, i) => ({alias: valueAlias(i), cast: dialect === 'postgres' ? types[c] : undefined}))], rows)
  const assignments = columns.map((c, i): [string, string] => [c, flagged[i] ? `CASE WHEN v.${flagAlias(i)} = 1 THEN v.${valueAlias(i)} ELSE t.${quote(dialect, c)} END` : `v.${valueAlias(i)}`])
  return updateFromDerived(dialect, table, keys, assignments, derived)
}

/** `UPDATE table AS t … FROM v WHERE t.key = v.k0 …` (MySQL: `UPDATE table AS t JOIN v ON … SET …`). */
function updateFromDerived(dialect: Dialect, table: string, keys: string[], assignments: Array<[string, string]>, derived: Statement): Statement {
  const q = (name: string) => quote(dialect, name)
  const on = keys.map((key, i) => `t.${q(key)} = v.${keyAlias(i)}`).join(' AND ')
  if (dialect === 'mysql') return {sql: `UPDATE ${q(table)} AS t JOIN ${derived.sql} ON ${on} SET ${assignments.map(([c, expr]) => `t.${q(c)} = ${expr}`).join(', ')}`, bindings: derived.bindings}
  return {sql: `UPDATE ${q(table)} AS t SET ${assignments.map(([c, expr]) => `${q(c)} = ${expr}`).join(', ')} FROM ${derived.sql} WHERE ${on}`, bindings: derived.bindings}
}

/** Rows `[wbc_i, ...key values]`: selects the `wbc_i` (as `i`) of those that reach no row of the table. */
export function missingRows(dialect: Dialect, table: string, keys: string[], rows: unknown[][], types: ColumnTypes): Statement {
  const q = (name: string) => quote(dialect, name)
  const derived = derivedTable(dialect, [intColumn(dialect, 'wbc_i'), ...keyColumns(dialect, keys, types)], rows)
  const on = keys.map((key, i) => `t.${q(key)} = v.${keyAlias(i)}`).join(' AND ')
  return {sql: `SELECT v.wbc_i AS i FROM ${derived.sql} WHERE NOT EXISTS (SELECT 1 FROM ${q(table)} AS t WHERE ${on})`, bindings: derived.bindings}
}
