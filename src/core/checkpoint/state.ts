import {KeySpace} from '../buffer/keys.js'
import {recordBad} from '../buffer/steps/memory/checks.js'
import type {MemoryStore} from '../ipc/memory/store.js'
import type {Json} from '../ipc/types.js'
import type {CheckpointContents, FileWrite} from './checkpoint.js'
import {fullWritesOf} from './mirror.js'

/**
 * What a full checkpoint writes: every key of the prefix the checkpoint keeps, as the store holds
 * it now (see checkpoint/mirror.ts), with counts for `wbc checkpoint`.
 */
export function snapshotOf(store: MemoryStore, prefix: string): {writes: FileWrite[]; counts: {counters: number; updates: number; queues: number; inflight: number}} {
  const writes = fullWritesOf(store, prefix)
  const counts = {counters: 0, updates: 0, queues: 0, inflight: 0}
  const kinds = {c: 'counters', u: 'updates', q: 'queues', if: 'inflight'} as const
  for (const [key] of writes) {
    const kind = key.slice(prefix.length + 1, key.indexOf(':', prefix.length + 1)) as keyof typeof kinds
    if (Object.hasOwn(kinds, kind)) counts[kinds[kind]]++
  }
  return {writes, counts}
}

/**
 * Loads a checkpoint into an empty state before the application accepts writes: pending deltas,
 * fields and rows go back where they were; in-flight batches go back in flight, so the next flush
 * finishes them through the ledger (applied once, whether or not they had committed); wbc's own
 * keys (dead letters, quarantine, fence, generations, stats, ages, events, last flush) as they were.
 */
export function restoreInto(store: MemoryStore, prefix: string, contents: CheckpointContents): void {
  const keys = KeySpace.of(prefix)
  for (const {member, delta} of contents.counters) {
    store.incrBy(keys.counter(member), delta)
    store.sadd(keys.countersIndex, [member])
  }
  for (const {member, fields} of contents.updates) {
    if (Object.keys(fields).length === 0) continue
    store.hset(keys.update(member), fields)
    store.sadd(keys.updatesIndex, [member])
  }
  for (const {table, rows} of contents.queues) {
    if (rows.length === 0) continue
    store.rpush(keys.queue(table), rows)
    store.sadd(keys.queuesIndex, [table])
  }
  for (const {key, type, value} of contents.own) {
    if (type === 'string') store.set(key, value, 0)
    else if (type === 'hash' && Object.keys(value as object).length > 0) store.hset(key, value as Record<string, Json>)
    else if (type === 'list' && (value as Json[]).length > 0) store.rpush(key, value as Json[])
    else if (type === 'set' && (value as Json[]).length > 0) store.sadd(key, (value as Json[]).map(String))
  }
  // Entries of the wrong shape stay in the file under {prefix}:bad:; status and doctor name them.
  for (const {key, problem} of contents.bad) {
    recordBad(store, keys, key.slice(prefix.length + 1), `checkpoint entry: ${problem} (kept in the checkpoint under ${prefix}:bad:)`)
  }
  for (const batch of contents.inflight) {
    store.set(keys.batch(batch.id), batch as unknown as Json, 0)
    store.sadd(keys.inflightIndex, [batch.id])
    if (batch.counters.length > 0) store.hset(keys.inflightDeltas(batch.id), Object.fromEntries(batch.counters))
  }
}
