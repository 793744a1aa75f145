import type {DerivedColumn, Statement} from './statement.js'

/**
 * PostgreSQL: a derived table `v` of bound rows as one array per column, `unnest(?::integer[],
 * ?::numeric[], …) AS v(k0, c0, …)`: as many bindings as columns whatever the row count (no
 * 65,535-parameter limit), one short statement text, and values parsed by each type's own input
 * function, as `CAST(? AS type)` does. A column of an array type cannot travel as an array of
 * arrays (unnest would flatten it): its values go as a `text[]` of array literals, cast per row
 * (`u.c0::integer[]`). A column without a known type goes as text.
 */
export function unnestRows(columns: DerivedColumn[], rows: unknown[][]): Statement {
  const values = columns.map((_, i) => {
    const column = new Array<unknown>(rows.length)
    for (let r = 0; r < rows.length; r++) column[r] = rows[r][i]
    return column
  })
  return unnestColumns(columns, values)
}

/** `unnestRows` of the values given per column (`values[i]` holds column i of every row). */
export function unnestColumns(columns: DerivedColumn[], values: unknown[][]): Statement {
  const byText = columns.map(({cast}) => cast !== undefined && cast.endsWith('[]'))
  // Each array goes as the literal the driver would write for it, built here in one pass.
  const bindings = values.map((column, i) => (byText[i] ? arrayLiteral(column.map((value) => (Array.isArray(value) ? arrayLiteral(value) : value))) : arrayLiteral(column)))
  const arrays = columns.map(({cast}, i) => `?::${byText[i] || cast === undefined ? 'text' : cast}[]`).join(', ')
  const aliases = columns.map(({alias}) => alias).join(', ')
  if (!byText.includes(true)) return {sql: `unnest(${arrays}) AS v(${aliases})`, bindings}
  const select = columns.map(({alias, cast}, i) => (byText[i] ? `u.${alias}::${cast} AS ${alias}` : `u.${alias}`)).join(', ')
  return {sql: `(SELECT ${select} FROM unnest(${arrays}) AS u(${aliases})) AS v`, bindings}
}

/**
 * A PostgreSQL array literal, as the driver writes a bound array: elements quoted with `\` and `"`
 * escaped, NULL for null, nested arrays as nested braces, objects as JSON.
 */
export function arrayLiteral(values: unknown[]): string {
  let out = '{'
  for (let i = 0; i < values.length; i++) {
    if (i > 0) out += ','
    const value = values[i]
    if (value === null || value === undefined) out += 'NULL'
    else if (Array.isArray(value)) out += arrayLiteral(value)
    else {
      const text = typeof value === 'string' ? value : typeof value === 'object' ? JSON.stringify(value) : String(value)
      out += text.includes('"') || text.includes('\\') ? `"${text.replace(/[\\"]/g, (mark) => `\\${mark}`)}"` : `"${text}"`
    }
  }
  return `${out}}`
}
