import type {Dialect} from '../config/connections.js'
import type {WhereObject} from './entry.js'
import {exactDecimal, keyBinder} from './statements.js'
import type {KeyRule, TableInfo} from './table-info.js'

/**
 * Whether no two of these keys (one key-column set, in `keys` order) can reach one row, judged
 * in JavaScript from the column's key rule: then a plain `UPDATE … FROM v` applies every entry,
 * and the join + aggregation per target row can be skipped. Each value is reduced to a spelling
 * that two values the database finds equal always share (it may also merge values the database
 * tells apart: that only costs the fast path). Any value without a known spelling (a column
 * without a rule, a form the rule does not parse) answers false. A key with a NULL part reaches
 * no row, so it shares none.
 */
export function cannotShareRows(dialect: Dialect, keys: string[], wheres: WhereObject[], info: TableInfo): boolean {
  const rules = keys.map((key) => info.keyRules[key])
  if (rules.some((rule) => rule === undefined)) return false
  const bind = keys.map((key) => (dialect === 'mysql' ? keyBinder(dialect, info.types[key]) : (value: unknown) => value))
  const seen = new Set<string>()
  if (keys.length === 1) {
    const [key, rule, bound] = [keys[0], rules[0]!, bind[0]]
    for (const where of wheres) {
      const value = bound(where[key])
      if (value === null || value === undefined) continue
      const spelled = spelling(rule, value as string | number | boolean)
      if (spelled === undefined || seen.has(spelled)) return false
      seen.add(spelled)
    }
    return true
  }
  const parts = new Array<string>(keys.length)
  for (const where of wheres) {
    let reachesNone = false
    for (let i = 0; i < keys.length; i++) {
      const value = bind[i](where[keys[i]])
      if (value === null || value === undefined) {
        reachesNone = true
        break
      }
      const spelled = spelling(rules[i]!, value as string | number | boolean)
      if (spelled === undefined) return false
      parts[i] = spelled
    }
    if (reachesNone) continue
    const tuple = JSON.stringify(parts)
    if (seen.has(tuple)) return false
    seen.add(tuple)
  }
  return true
}

/** The spelling of one key value under a rule; undefined when the rule cannot tell. */
export function spelling(rule: KeyRule, value: string | number | boolean): string | undefined {
  if (rule === 'sqlite') return sqliteSpelling(value)
  if (rule === 'bound') return typeof value === 'string' ? value : undefined
  if (rule === 'boolean') return typeof value === 'boolean' ? String(value) : undefined
  // PostgreSQL receives every other value as text: `String` is what the driver sends.
  const text = String(value)
  switch (rule) {
    case 'integer': {
      if (PLAIN_INTEGER.test(text)) return text
      const exact = typeof value === 'boolean' ? null : exactDecimal(text)
      return exact && exact[2] === '' ? exact[0] : undefined
    }
    case 'decimal':
      return typeof value === 'boolean' ? undefined : exactDecimal(text)?.[0]
    case 'text':
      return wellFormed(text)
    case 'bpchar':
      return wellFormed(text).replace(/ +$/, '')
    case 'uuid': {
      const hex = text.replace(/[{}\-\s]/g, '').toLowerCase()
      return /^[0-9a-f]{32}$/.test(hex) ? hex : undefined
    }
    case 'date':
      return /^\d{4}-\d{2}-\d{2}$/.test(text) ? text : undefined
  }
}

/** Integer text that is its own exact spelling: no leading zero, no sign but `-`. */
const PLAIN_INTEGER = /^(?:0|-?[1-9]\d{0,98})$/
const SHORT_INTEGER = /^(?:0|-?[1-9]\d{0,14})$/

/**
 * SQLite: a column's affinity turns numeric text into a number (and a number into text) before
 * comparing, NOCASE folds ASCII case and RTRIM drops trailing spaces. So numbers and numeric text
 * are spelled by their numeric value, other text ASCII-folded without trailing spaces; text that
 * holds a digit but is no number both read alike is left undecided (SQLite might read it).
 */
function sqliteSpelling(value: string | number | boolean): string | undefined {
  if (typeof value === 'boolean') return value ? 'n:1' : 'n:0'
  if (typeof value === 'number') return Number.isFinite(value) ? `n:${value}` : undefined
  // Plain integer text of at most 15 digits reads as the number it spells.
  if (SHORT_INTEGER.test(value)) return `n:${value}`
  const exact = exactDecimal(value)
  if (exact && readAlike(exact)) return `n:${Number(exact[0])}`
  if (/\d|inf|nan/i.test(value)) return undefined
  return `s:${wellFormed(value)
    .replace(/[A-Z]+/g, (letters) => letters.toLowerCase())
    .replace(/ +$/, '')}`
}

/**
 * Whether SQLite reads this decimal as the same double as JavaScript. SQLite keeps only about 19
 * significant digits of numeric text and drops the rest ('1.00000000000000011102230246251566' is 1
 * to it, 1.0000000000000002 to JavaScript), and need not round as JavaScript does in general. At
 * most 15 significant digits and a power of ten up to 22 are exact doubles both, and one division
 * or multiplication of them is correctly rounded: one value.
 */
function readAlike([, whole, fraction]: [string, string, string]): boolean {
  const digits = `${whole === '0' ? '' : whole}${fraction}`.replace(/^0+/, '')
  const significant = digits.replace(/0+$/, '')
  const power = digits.length - significant.length - fraction.length
  return significant.length <= 15 && Math.abs(power) <= 22
}

/** The string as the database receives it: UTF-8 turns a lone surrogate into U+FFFD. */
function wellFormed(text: string): string {
  return /[\uD800-\uDFFF]/.test(text) ? Buffer.from(text, 'utf8').toString('utf8') : text
}
