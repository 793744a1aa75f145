import {InvalidArgument} from '../errors.js'
import type {Json} from './types.js'

const MAX_KEY_LENGTH = 4096
const MAX_DEPTH = 64

export function assertKey(key: unknown, argument = 'key'): asserts key is string {
  if (typeof key !== 'string' || key.length === 0) {
    throw new InvalidArgument(argument, `expected a non-empty string, got ${describe(key)}`)
  }
  if (key.length > MAX_KEY_LENGTH) {
    throw new InvalidArgument(argument, `is ${key.length} characters long; the limit is ${MAX_KEY_LENGTH}`)
  }
}

export function assertFiniteNumber(value: unknown, argument: string): asserts value is number {
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    throw new InvalidArgument(argument, `expected a finite number, got ${describe(value)}`)
  }
}

export function assertInteger(value: unknown, argument: string, min = -Infinity): asserts value is number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min) {
    throw new InvalidArgument(argument, `expected an integer${min > -Infinity ? ` >= ${min}` : ''}, got ${describe(value)}`)
  }
}

/** TTLs are seconds, as in ODAC; undefined or 0 means no expiry. Returns milliseconds (0 = none). */
export function ttlToMs(ttlSeconds: unknown, argument = 'ttlSeconds', required = false): number {
  if (!required && (ttlSeconds === undefined || ttlSeconds === 0)) return 0
  if (typeof ttlSeconds !== 'number' || !Number.isFinite(ttlSeconds) || ttlSeconds <= 0) {
    throw new InvalidArgument(argument, `expected a positive number of seconds, got ${describe(ttlSeconds)}`)
  }
  return Math.max(1, Math.round(ttlSeconds * 1000))
}

/** Values must survive JSON unchanged: no NaN/Infinity, undefined, functions, cycles or class instances. */
export function assertJson(value: unknown, argument: string): asserts value is Json {
  const problem = jsonProblem(value, argument, 0, new Set())
  if (problem) throw new InvalidArgument(problem.path, problem.message, 'Pass plain JSON data: objects, arrays, strings, finite numbers, booleans and null.')
}

function jsonProblem(value: unknown, path: string, depth: number, seen: Set<object>): {path: string; message: string} | null {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return null
  if (typeof value === 'number') return Number.isFinite(value) ? null : {path, message: `is ${String(value)}, not JSON-serialisable`}
  if (typeof value !== 'object') return {path, message: `is ${describe(value)}, not JSON-serialisable`}
  if (depth >= MAX_DEPTH) return {path, message: `nests deeper than ${MAX_DEPTH} levels`}
  if (seen.has(value)) return {path, message: 'contains a circular reference'}
  seen.add(value)
  try {
    if (Array.isArray(value)) {
      for (let i = 0; i < value.length; i++) {
        const problem = jsonProblem(value[i], `${path}[${i}]`, depth + 1, seen)
        if (problem) return problem
      }
      return null
    }
    const proto = Object.getPrototypeOf(value)
    if (proto !== Object.prototype && proto !== null) {
      return {path, message: `is a ${proto?.constructor?.name ?? 'class instance'}, not a plain object (convert it first, e.g. a Date with toISOString())`}
    }
    for (const [field, item] of Object.entries(value)) {
      const problem = jsonProblem(item, `${path}.${field}`, depth + 1, seen)
      if (problem) return problem
    }
    return null
  } finally {
    seen.delete(value)
  }
}

export function assertFields(fields: unknown, argument = 'fields'): asserts fields is Record<string, Json> {
  if (!fields || typeof fields !== 'object' || Array.isArray(fields) || Object.getPrototypeOf(fields) !== Object.prototype) {
    throw new InvalidArgument(argument, `expected a plain object of fields, got ${describe(fields)}`)
  }
  const names = Object.keys(fields)
  if (names.length === 0) throw new InvalidArgument(argument, 'is empty; give at least one field')
  for (const name of names) {
    if (name.length === 0) throw new InvalidArgument(argument, 'has an empty field name')
  }
  assertJson(fields, argument)
}

export function assertNonEmpty(items: unknown[], argument: string): void {
  if (items.length === 0) throw new InvalidArgument(argument, 'give at least one')
}

export function assertStrings(items: unknown[], argument: string): asserts items is string[] {
  assertNonEmpty(items, argument)
  items.forEach((item, i) => {
    if (typeof item !== 'string') throw new InvalidArgument(`${argument}[${i}]`, `expected a string, got ${describe(item)}`)
  })
}

export function assertCursor(cursor: unknown): asserts cursor is string {
  if (typeof cursor !== 'string' || !/^\d{1,20}$/.test(cursor)) {
    throw new InvalidArgument('cursor', `expected the cursor of a previous page ('0' to start), got ${describe(cursor)}`)
  }
}

export function describe(value: unknown): string {
  if (value === undefined) return 'undefined'
  if (value === null) return 'null'
  if (typeof value === 'string') return value.length > 40 ? `a string "${value.slice(0, 40)}…"` : `"${value}"`
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return `${typeof value} ${String(value)}`
  if (typeof value === 'function') return 'a function'
  if (typeof value === 'symbol') return 'a symbol'
  if (Array.isArray(value)) return 'an array'
  return 'an object'
}
