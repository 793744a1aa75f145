import type {MemoryStore} from '../ipc/memory/store.js'
import {KeySpace} from '../buffer/keys.js'
import {ownFileKey, type FileWrite} from './checkpoint.js'

/**
 * Which keys of the memory driver's state the checkpoint keeps, and when:
 * - `at-once`: every change is written with the request that made it (one transaction per
 *   request), except the buffered writes themselves (increment, update, insert — write-behind:
 *   they reach the file with the next full checkpoint). Claims, acks, compaction, requeues,
 *   quarantine, dead letters and the fence counter therefore never leave the file behind.
 * - `periodic`: only full checkpoints write them (the event stream is large and only a log; ages
 *   and the last flush record are informative).
 * Derived keys (indexes of pending keys, `ifd:` deltas) are rebuilt on restore; cached bases,
 * leases and keys outside the prefix are not kept.
 */
export type MirrorMode = 'at-once' | 'periodic'

const AT_ONCE_HEADS = ['c:', 'u:', 'q:', 'if:', 'dl:', 'bad:', 'gen:', 'stats:', 'ut:']
const AT_ONCE_KEYS = new Set(['idx:deadletters', 'idx:bad'])
const PERIODIC_KEYS = new Set(['events', 'lastflush'])

export function mirrorModeOf(prefix: string, key: string): MirrorMode | null {
  if (key.length <= prefix.length + 1 || !key.startsWith(prefix) || key[prefix.length] !== ':') return null
  const rest = key.slice(prefix.length + 1)
  if (AT_ONCE_KEYS.has(rest) || AT_ONCE_HEADS.some((head) => rest.startsWith(head))) return 'at-once'
  // The fence of a lease under the prefix: it must never go backwards across a restart.
  if (rest.startsWith('lock:') && rest.endsWith(':fence')) return 'at-once'
  if (PERIODIC_KEYS.has(rest) || rest.startsWith('age:')) return 'periodic'
  return null
}

/** The write that makes the file hold `key` as the store holds it now (a removal when the store has no such key). */
export function fileWriteOf(store: MemoryStore, prefix: string, key: string): FileWrite {
  const rest = key.slice(prefix.length + 1)
  const kind = rest.slice(0, rest.indexOf(':'))
  const dumped = store.dump(key)
  switch (kind) {
    case 'c': {
      // ODAC's counter entry; a value that is not a number is left to the claim's quarantine.
      if (dumped?.type !== 'string' || typeof dumped.value !== 'number') return [key, undefined]
      const base = store.peekNumber(KeySpace.of(prefix).base(rest.slice(2)))
      return [key, {delta: dumped.value, base: base ?? 0}]
    }
    case 'u':
      return [key, dumped?.type === 'hash' ? dumped.value : undefined]
    case 'q':
      return [key, dumped?.type === 'list' ? dumped.value : undefined]
    case 'if':
      return [key, dumped?.type === 'string' && dumped.value && typeof dumped.value === 'object' ? dumped.value : undefined]
    default:
      return [ownFileKey(prefix, key), dumped]
  }
}

/** The changes to write at once for the keys one request changed. */
export function mirrorWritesOf(store: MemoryStore, prefix: string, changed: Iterable<string>): FileWrite[] {
  const writes: FileWrite[] = []
  for (const key of changed) if (mirrorModeOf(prefix, key) === 'at-once') writes.push(fileWriteOf(store, prefix, key))
  return writes
}

/** Everything a full checkpoint writes: every kept key of the prefix as the store holds it now. */
export function fullWritesOf(store: MemoryStore, prefix: string): FileWrite[] {
  const writes: FileWrite[] = []
  for (const key of store.keysWithPrefix(`${prefix}:`)) {
    if (mirrorModeOf(prefix, key) === null) continue
    const write = fileWriteOf(store, prefix, key)
    if (write[1] !== undefined) writes.push(write)
  }
  return writes
}
