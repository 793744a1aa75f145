/** What the memory twins of the steps share: the checks each runs before its first write, and the stamps and reads several make. */
import {KeySpace} from '../../keys.js'
import {WrongType} from '../../../errors.js'
import type {Json} from '../../../ipc/types.js'
import type {MemoryStore} from '../../../ipc/memory/store.js'
import type {BadKind} from '../contract.js'

export const sum = (values: Iterable<Json>) => {
  let total = 0
  for (const value of values) total += Number(value)
  return total
}

/** `{connection}:{table}` of a member. */
export const tableOf = (member: string) => member.slice(0, member.indexOf(':', member.indexOf(':') + 1))

/** Every buffered write stamps its table: since (first pending write), last (latest write), and counts. */
export function stamp(store: MemoryStore, keys: KeySpace, table: string, writes = 1, now = Date.now()): void {
  stampKeys(store, keys.age(table), keys.stats(table), writes, now)
}

/** stamp by the table's age and stats keys. */
export function stampKeys(store: MemoryStore, age: string, stats: string, writes: number, now: number): void {
  store.hstamp(age, 'last', 'since', now)
  store.hincrBy(stats, 'writes', writes)
}

/*
 * Checks run before a step's first write, as checks.lua does on redis: a step that throws
 * half-way would leave half of its writes behind (nothing is rolled back).
 */

/** The key's type; throws unless it is absent or of the expected type. */
export function expectType(store: MemoryStore, key: string, expected: string): string {
  const found = store.type(key)
  if (found !== 'none' && found !== expected) throw new WrongType(key, expected, found)
  return found
}

export const isCount = (value: Json | null) => value === null || (typeof value === 'number' && Number.isSafeInteger(value))

/** Throws unless the hash field is absent or an integer (HINCRBY on redis refuses anything else). */
export function expectIntegerField(store: MemoryStore, key: string, field: string): void {
  if (!isCount(store.hget(key, field))) throw new WrongType(key, 'hash of integer counts', `hash whose field ${field} is not an integer`)
}

/** Throws unless the key is absent or an integer (INCR on redis refuses anything else). */
export function expectInteger(store: MemoryStore, key: string): void {
  expectType(store, key, 'string')
  if (!isCount(store.get(key))) throw new WrongType(key, 'integer', 'string that is not an integer')
}

export function expectStampable(store: MemoryStore, keys: KeySpace, table: string): void {
  expectStampableKeys(store, keys.age(table), keys.stats(table))
}

/** expectStampable by the table's age and stats keys. */
export function expectStampableKeys(store: MemoryStore, age: string, stats: string): void {
  expectType(store, age, 'hash')
  // Reading the field fails as a type check of stats would (WrongType naming it, expecting a hash).
  expectIntegerField(store, stats, 'writes')
}

/** A finite number at the key, or null for anything else (absent, text, another type): how a cached base is read. */
export function finiteAt(store: MemoryStore, key: string): number | null {
  const value = store.peekNumber(key)
  return value !== null && Number.isFinite(value) ? value : null
}

/** A counter's live delta (0 when absent); throws naming the key when it is not a number (as liveDelta in checks.lua). */
export function liveAt(store: MemoryStore, key: string): number {
  expectType(store, key, 'string')
  const value = store.get(key)
  if (value === null) return 0
  if (typeof value !== 'number' || !Number.isFinite(value)) throw new WrongType(key, 'number', 'string that is not a number')
  return value
}

/** Records when a row's fields were written (keeps a later time already recorded). */
export function recordUpdateTime(store: MemoryStore, key: string, member: string, now: number): void {
  const recorded = store.hget(key, member)
  if (!(typeof recorded === 'number' && recorded >= now)) store.hset(key, {[member]: now})
}

/** Renames `{prefix}:{kind}:{member}` under `{prefix}:bad:` and records why in `{prefix}:idx:bad`. */
export function moveToBad(store: MemoryStore, keys: KeySpace, kind: BadKind, member: string, reason: string, at = Date.now()): void {
  store.rename(keys.pending(kind, member), keys.bad(`${kind}:${member}`))
  recordBad(store, keys, `${kind}:${member}`, reason, at)
}

/**
 * Why a key was quarantined, in `{prefix}:idx:bad`: the record {reason, at} (the redis steps store
 * its JSON, which reads back through the Ipc as the same record). `at` defaults to now.
 */
export function recordBad(store: MemoryStore, keys: KeySpace, field: string, reason: string, at = Date.now()): void {
  store.hset(keys.badIndex, {[field]: {reason, at}})
}

/**
 * The in-flight deltas of a counter, per batch id, from `{prefix}:ifd:{batchId}` of each batch in
 * flight (`ids`: the in-flight index, when the caller read it already).
 */
export function inflightOf(store: MemoryStore, keys: KeySpace, member: string, ids: string[] = store.smembers(keys.inflightIndex)): Record<string, number> {
  const inflight: Record<string, number> = {}
  for (const id of ids) {
    const delta = store.hget(keys.inflightDeltas(id), member)
    // A total is never made of text (NaN): a delta that is not a number fails naming its key.
    if (delta !== null && !(typeof delta === 'number' && Number.isFinite(delta))) {
      throw new WrongType(keys.inflightDeltas(id), 'hash of numbers', `hash whose field ${member} is not a number`)
    }
    if (delta !== null) inflight[id] = delta
  }
  return inflight
}
