import {IDENTIFIER, isIdentifier} from '../config/identifiers.js'
import {parseMember} from './members.js'

/**
 * Checks of every name read back from the state (where columns, update fields, queued rows'
 * columns, counter columns, connection and table): anything written under the prefix by someone
 * else — an application passing a request's query as a where, another tool — must never reach SQL.
 * The claim step runs the same checks (buffer-claim.lua, bufClaim) with the same reasons, so these
 * texts must stay identical to the Lua ones.
 */

export const WHERE_EMPTY = 'the where is empty'
export const WHERE_NOT_OBJECT = 'the where is not a JSON object of column values'
export const WHERE_EMPTY_OBJECT = 'the where is an empty object'
export const counterNameReason = 'the key name is not {connection}:{table}:{where}:{column}'
export const updateNameReason = 'the key name is not {connection}:{table}:{where}'

/**
 * A name as shown in a reason: at most 40 bytes of its UTF-8 (cut at a character boundary), so a
 * huge hostile name does not bloat `{prefix}:idx:bad`. The Lua step cuts the same bytes.
 */
export function shown(name: string): string {
  const bytes = Buffer.from(name)
  if (bytes.length <= 40) return bytes.toString()
  let cut = 40
  while (cut > 0 && (bytes[cut] & 0xc0) === 0x80) cut--
  return `${bytes.subarray(0, cut).toString()}...`
}

const isDigit = (c: number) => c >= 48 && c <= 57
const isSpace = (c: number) => c === 32 || c === 9 || c === 10 || c === 13
const isHex = (c: number) => isDigit(c) || (c >= 65 && c <= 70) || (c >= 97 && c <= 102)

/** Index just past the JSON string starting at `i` (a `"`), or -1 when it is not strict JSON. */
function endOfString(text: string, i: number): number {
  for (let k = i + 1; k < text.length;) {
    const c = text.charCodeAt(k)
    if (c === 34) return k + 1
    if (c < 32) return -1
    if (c !== 92) {
      k++
      continue
    }
    const next = text[k + 1]
    if (next !== undefined && '"\\/bfnrt'.includes(next)) k += 2
    else if (next === 'u' && [2, 3, 4, 5].every((d) => isHex(text.charCodeAt(k + d)))) k += 6
    else return -1
  }
  return -1
}

/** Index just past the strict JSON number starting at `i`, or -1. */
function endOfNumber(text: string, i: number): number {
  let k = i
  if (text[k] === '-') k++
  if (text[k] === '0') k++
  else if (isDigit(text.charCodeAt(k)) && text[k] !== '0') while (isDigit(text.charCodeAt(k))) k++
  else return -1
  if (text[k] === '.') {
    if (!isDigit(text.charCodeAt(++k))) return -1
    while (isDigit(text.charCodeAt(k))) k++
  }
  if (text[k] === 'e' || text[k] === 'E') {
    k++
    if (text[k] === '+' || text[k] === '-') k++
    if (!isDigit(text.charCodeAt(k))) return -1
    while (isDigit(text.charCodeAt(k))) k++
  }
  return k
}

/**
 * Why an encoded where cannot address a row, or null. A scalar (ODAC's String(id)) must not be
 * empty; text starting with "{" must be a strict, flat, non-empty JSON object whose keys are column
 * names (identifiers, written without escapes, each once) and whose values are strings, finite
 * numbers or booleans. The first problem in text order is named.
 */
export function whereProblem(where: string): string | null {
  if (where === '') return WHERE_EMPTY
  if (!where.startsWith('{')) return null
  const skip = (k: number) => {
    while (isSpace(where.charCodeAt(k))) k++
    return k
  }
  let i = skip(1)
  if (where[i] === '}') return skip(i + 1) === where.length ? WHERE_EMPTY_OBJECT : WHERE_NOT_OBJECT
  const seen = new Set<string>()
  for (;;) {
    if (where[i] !== '"') return WHERE_NOT_OBJECT
    const keyEnd = endOfString(where, i)
    if (keyEnd < 0) return WHERE_NOT_OBJECT
    const column = where.slice(i + 1, keyEnd - 1)
    if (!IDENTIFIER.test(column)) return `where column "${shown(column)}" is not a column name`
    if (seen.has(column)) return `where column ${column} appears twice`
    seen.add(column)
    i = skip(keyEnd)
    if (where[i] !== ':') return WHERE_NOT_OBJECT
    i = skip(i + 1)
    const c = where[i]
    const holds = (what: string) => `where column ${column} holds ${what}, not a string, a finite number or a boolean`
    if (c === '"') i = endOfString(where, i)
    else if (c === '-' || isDigit(where.charCodeAt(i))) {
      const end = endOfNumber(where, i)
      if (end >= 0 && !Number.isFinite(Number(where.slice(i, end)))) return holds('a number that is not finite')
      i = end
    } else if (where.startsWith('true', i)) i += 4
    else if (where.startsWith('false', i)) i += 5
    else if (where.startsWith('null', i)) return holds('null')
    else if (c === '{') return holds('an object')
    else if (c === '[') return holds('an array')
    else return WHERE_NOT_OBJECT
    if (i < 0) return WHERE_NOT_OBJECT
    i = skip(i)
    if (where[i] === ',') {
      i = skip(i + 1)
      continue
    }
    if (where[i] === '}') return skip(i + 1) === where.length ? null : WHERE_NOT_OBJECT
    return WHERE_NOT_OBJECT
  }
}

/** Why a counter (`withColumn`) or update index member cannot be flushed, or null. */
export function memberProblem(member: string, withColumn: boolean): string | null {
  const parsed = parseMember(member, withColumn)
  if (!parsed) return withColumn ? counterNameReason : updateNameReason
  return whereProblem(parsed.where)
}

/** Byte order of the UTF-8 forms (as Lua compares), so both drivers name the same bad field. */
const byteOrder = (a: string, b: string) => Buffer.compare(Buffer.from(a), Buffer.from(b))

/** Why an update hash's field names cannot be flushed, or null: the first bad name in byte order. */
export function fieldsProblem(names: Iterable<string>): string | null {
  const bad = [...names].filter((name) => !isIdentifier(name)).sort(byteOrder)
  return bad.length > 0 ? `field "${shown(bad[0])}" is not a column name` : null
}

/** A queued row wbc can insert: a non-empty plain JSON object whose keys are column names. */
export function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value)
}

/** Why a queued row cannot be inserted, or null (`notObject` tells the two kinds apart for the claim's reason). */
export function rowProblem(row: unknown): {notObject: boolean; reason: string} | null {
  if (!isObject(row)) return {notObject: true, reason: `is ${JSON.stringify(row)?.slice(0, 40)}, not an object`}
  const names = Object.keys(row)
  if (names.length === 0) return {notObject: false, reason: 'has no columns'}
  const bad = names.filter((name) => !isIdentifier(name)).sort(byteOrder)
  return bad.length > 0 ? {notObject: false, reason: `has the column "${shown(bad[0])}", not a column name`} : null
}

/** The claim's reason for the rows of one queue it set aside (the same text as the Lua step's). */
export function badRowsReason(notObjects: number, badNames: number): string {
  const parts: string[] = []
  if (notObjects > 0) parts.push(`${notObjects} queued row(s) not a JSON object`)
  if (badNames > 0) parts.push(`${badNames} queued row(s) without columns or with a name that is not a column name`)
  return parts.join('; ')
}
