import {InvalidArgument} from '../errors.js'
import type {Json} from '../ipc/types.js'
import {assertFiniteNumber, assertJson, describe} from '../ipc/validate.js'
import {assertIdentifier} from './keys.js'

/** One queued row or update may not exceed this once serialised; larger ones are refused at once. */
export const MAX_ROW_BYTES = 1024 * 1024

/** Rows and update fields: flat objects of column → JSON value, with column names as identifiers. */
export function assertColumns(value: unknown, argument: string): asserts value is Record<string, Json> {
  columnsJson(value, argument)
}

/** assertColumns, returning the JSON text the size was measured on (a snapshot of the row as it was). */
export function columnsJson(value: unknown, argument: string): string {
  if (!value || typeof value !== 'object' || Array.isArray(value) || Object.getPrototypeOf(value) !== Object.prototype) {
    throw new InvalidArgument(argument, `expected a plain object of column values, got ${describe(value)}`)
  }
  const columns = Object.keys(value)
  if (columns.length === 0) throw new InvalidArgument(argument, 'has no columns')
  for (const column of columns) assertIdentifier(column, `${argument}.${column}`)
  assertJson(value, argument)
  const text = JSON.stringify(value)
  // Bytes are at most 3 per UTF-16 unit: most rows are measured without counting.
  const bytes = text.length * 3 <= MAX_ROW_BYTES ? text.length : Buffer.byteLength(text)
  if (bytes > MAX_ROW_BYTES) {
    throw new InvalidArgument(argument, `is ${bytes} bytes as JSON; the limit is ${MAX_ROW_BYTES}`, 'Store large documents elsewhere and buffer a reference to them.')
  }
  return text
}

export function assertDelta(delta: unknown): asserts delta is number {
  assertFiniteNumber(delta, 'delta')
}
