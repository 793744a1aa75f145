import {KeySpace} from '../../buffer/keys.js'
import type {CheckpointContents, PendingSnapshot} from '../../checkpoint/checkpoint.js'
import {WbcError} from '../../errors.js'
import {chunkSha} from '../../streams/chunk.js'
import type {BadKind, ClaimRequest, ClaimResult, CounterReading, QuarantinedKey, RequeueEntry, StoredBatch} from '../../buffer/steps.js'
import type {Json} from '../types.js'
import type {MemoryStore, StoredEntry} from './store.js'

/**
 * The write buffer's atomic steps on the memory driver. Each runs synchronously inside the primary,
 * so it is one indivisible step, mirroring the Lua scripts of the redis driver line for line.
 */
const sum = (values: Iterable<Json>) => {
  let total = 0
  for (const value of values) total += Number(value)
  return total
}

/** `{connection}:{table}` of a member. */
const tableOf = (member: string) => member.slice(0, member.indexOf(':', member.indexOf(':') + 1))

/** Every buffered write stamps its table: since (first pending write), last (latest write), and counts. */
function stamp(store: MemoryStore, keys: KeySpace, table: string, writes = 1): void {
  const now = Date.now()
  store.hstamp(keys.age(table), 'last', 'since', now)
  store.hincrBy(keys.stats(table), 'writes', writes)
}

/** Renames `{prefix}:{kind}:{member}` under `{prefix}:bad:` and records why in `{prefix}:idx:bad`. */
function moveToBad(store: MemoryStore, keys: KeySpace, kind: BadKind, member: string, reason: string): void {
  store.rename(`${keys.prefix}:${kind}:${member}`, keys.bad(`${kind}:${member}`))
  recordBad(store, keys, `${kind}:${member}`, reason)
}

/** Why a key was quarantined, in `{prefix}:idx:bad` (the field value is JSON text, as the redis step stores it). */
function recordBad(store: MemoryStore, keys: KeySpace, field: string, reason: string): void {
  store.hset(keys.badIndex, {[field]: JSON.stringify({reason, at: Date.now()})})
}

/** The in-flight deltas of a counter, per batch id, from `{prefix}:ifd:{batchId}` of each batch in flight. */
function inflightOf(store: MemoryStore, keys: KeySpace, member: string): Record<string, number> {
  const inflight: Record<string, number> = {}
  for (const id of store.smembers(keys.inflightIndex)) {
    const delta = store.hget(keys.inflightDeltas(id), member)
    if (delta !== null) inflight[id] = Number(delta)
  }
  return inflight
}

export const bufferSteps = {
  bufIncrement(store: MemoryStore, prefix: string, member: string, delta: number) {
    const keys = KeySpace.of(prefix)
    const live = store.incrBy(keys.counter(member), delta)
    store.sadd(keys.countersIndex, [member])
    stamp(store, keys, tableOf(member))
    const base = store.get(keys.base(member))
    return {live, base: typeof base === 'number' ? base : null, inflight: sum(Object.values(inflightOf(store, keys, member)))}
  },

  bufUpdate(store: MemoryStore, prefix: string, member: string, fields: Record<string, Json>) {
    const keys = KeySpace.of(prefix)
    store.hset(keys.update(member), fields)
    store.sadd(keys.updatesIndex, [member])
    stamp(store, keys, tableOf(member))
  },

  bufInsert(store: MemoryStore, prefix: string, table: string, rows: Json[]) {
    const keys = KeySpace.of(prefix)
    const length = store.rpush(keys.queue(table), rows)
    store.sadd(keys.queuesIndex, [table])
    stamp(store, keys, table, rows.length)
    return length
  },

  bufClaim(store: MemoryStore, prefix: string, request: ClaimRequest): ClaimResult {
    if (store.journal && !store.journal.healthy) {
      throw new WbcError('CHECKPOINT_UNHEALTHY', `the checkpoint at ${store.journal.path} could not be written; nothing is claimed until it can`, {
        exitCode: 3,
        hint: 'Free space or fix permissions of the checkpoint folder; the next checkpoint clears this.',
      })
    }
    const keys = KeySpace.of(prefix)
    const removedCounters: string[] = []
    const removedUpdates: string[] = []
    const batch: StoredBatch = {id: request.batchId, table: request.table, createdAt: request.createdAt, counters: [], updates: [], inserts: []}
    const quarantined: QuarantinedKey[] = []
    // Content that cannot be flushed moves aside (as the redis step does), so it never holds up the rest.
    const quarantine = (kind: 'c' | 'u' | 'q', member: string, reason: string, taken?: StoredEntry) => {
      if (taken) {
        store.put(keys.bad(`${kind}:${member}`), taken)
        recordBad(store, keys, `${kind}:${member}`, reason)
      } else moveToBad(store, keys, kind, member, reason)
      quarantined.push({key: `${kind}:${member}`, reason})
    }
    if (request.counters.length > 0) store.srem(keys.countersIndex, request.counters)
    for (const member of request.counters) {
      const entry = store.take(keys.counter(member))
      if (!entry) continue
      removedCounters.push(member)
      const value = entry.value
      if (entry.type !== 'string' || typeof value !== 'number' || !Number.isFinite(value)) {
        quarantine('c', member, entry.type === 'string' ? `holds ${JSON.stringify(value).slice(0, 40)}, not a number` : `holds a ${entry.type}, not a number`, entry)
        continue
      }
      if (value !== 0) batch.counters.push([member, value])
    }
    if (request.updates.length > 0) store.srem(keys.updatesIndex, request.updates)
    for (const member of request.updates) {
      const entry = store.take(keys.update(member))
      if (!entry) continue
      removedUpdates.push(member)
      if (entry.type !== 'hash') {
        quarantine('u', member, `holds a ${entry.type}, not a hash`, entry)
        continue
      }
      batch.updates.push([member, Object.fromEntries(entry.value as Map<string, Json>)])
    }
    let taken = 0
    const queueType = store.type(keys.queue(request.table))
    if (request.maxInserts > 0 && queueType !== 'list' && queueType !== 'none') {
      store.srem(keys.queuesIndex, [request.table])
      quarantine('q', request.table, `holds a ${queueType}, not a list`)
    } else if (request.maxInserts > 0) {
      const rows = store.lpop(keys.queue(request.table), request.maxInserts)
      taken = rows.length
      const isRow = (row: Json) => row !== null && typeof row === 'object' && !Array.isArray(row)
      batch.inserts = rows.filter(isRow)
      const bad = rows.filter((row) => !isRow(row))
      if (bad.length > 0) {
        store.rpush(keys.bad(`q:${request.table}`), bad)
        const reason = `${bad.length} queued row(s) not a JSON object`
        store.hset(keys.badIndex, {[`q:${request.table}`]: JSON.stringify({reason, at: Date.now()})})
        quarantined.push({key: `q:${request.table}`, reason})
      }
      if (store.llen(keys.queue(request.table)) === 0) store.srem(keys.queuesIndex, [request.table])
    }
    const empty = batch.counters.length + batch.updates.length + batch.inserts.length === 0
    if (store.journal) store.awaitDurable(store.journal.claimed(prefix, request.table, empty ? null : batch, removedCounters, removedUpdates, taken))
    if (empty) return {batch: null, quarantined}
    store.set(keys.batch(batch.id), batch as unknown as Json, 0)
    if (batch.counters.length > 0) store.hset(keys.inflightDeltas(batch.id), Object.fromEntries(batch.counters))
    store.sadd(keys.inflightIndex, [batch.id])
    store.incrBy(keys.generation(request.table), 1)
    return {batch, quarantined}
  },

  bufQuarantine(store: MemoryStore, prefix: string, kind: BadKind, member: string, reason: string): void {
    const keys = KeySpace.of(prefix)
    store.srem(keys.indexOf(kind), [member])
    moveToBad(store, keys, kind, member, reason)
  },

  bufAck(store: MemoryStore, prefix: string, batchId: string, deadMembers: string[]): boolean {
    const keys = KeySpace.of(prefix)
    const batch = store.get(keys.batch(batchId)) as unknown as StoredBatch | null
    if (!batch) {
      store.srem(keys.inflightIndex, [batchId])
      return false
    }
    const dead = new Set(deadMembers)
    store.del([keys.inflightDeltas(batchId)])
    for (const [member, delta] of batch.counters) {
      if (!dead.has(member)) store.incrIfExists(keys.base(member), delta)
    }
    store.hincrBy(keys.stats(batch.table), 'flushed', batch.counters.length + batch.updates.length + batch.inserts.length - dead.size)
    store.del([keys.batch(batchId)])
    store.srem(keys.inflightIndex, [batchId])
    // Not awaited: a batch left in the checkpoint after its ack is finished again harmlessly (the ledger has it).
    store.journal?.acked(prefix, batchId).catch(() => {})
    store.incrBy(keys.generation(batch.table), 1)
    return true
  },

  bufReadCounter(store: MemoryStore, prefix: string, member: string): CounterReading {
    const keys = KeySpace.of(prefix)
    const live = store.get(keys.counter(member))
    const base = store.get(keys.base(member))
    const inflight = inflightOf(store, keys, member)
    const generation = store.get(keys.generation(tableOf(member)))
    return {live: Number(live ?? 0), base: typeof base === 'number' ? base : null, inflight, generation: String(generation ?? 0)}
  },

  bufRequeue(store: MemoryStore, prefix: string, table: string, id: string, entry: RequeueEntry): boolean {
    const keys = KeySpace.of(prefix)
    if (store.hdel(keys.deadLetters(table), [id]) === 0) return false
    if (entry.kind === 'counter') {
      for (const [member, delta] of entry.deltas) {
        store.incrBy(keys.counter(member), delta)
        store.sadd(keys.countersIndex, [member])
      }
    } else if (entry.kind === 'update') {
      // A field pending already was written after the dead letter: it is kept (HSETNX).
      const pending = store.hgetall(keys.update(entry.member)) ?? {}
      const older = Object.fromEntries(Object.entries(entry.fields).filter(([field]) => !(field in pending)))
      if (Object.keys(older).length > 0) store.hset(keys.update(entry.member), older)
      store.sadd(keys.updatesIndex, [entry.member])
    } else {
      store.rpush(keys.queue(table), [entry.row])
      store.sadd(keys.queuesIndex, [table])
    }
    return true
  },

  bufCompactChunk(store: MemoryStore, key: string, position: number, sha: string, mask: string): number {
    const items = store.lrange(key, position, position + mask.length - 1)
    if (items.length !== mask.length || chunkSha(items) !== sha) return -1
    const kept = items.filter((_, i) => mask[i] === '1')
    return store.lsplice(key, position, mask.length, kept)
  },

  bufSettleAge(store: MemoryStore, prefix: string, table: string, flushStart: number): void {
    const keys = KeySpace.of(prefix)
    const age = store.hgetall(keys.age(table))
    if (!age) return
    if (Number(age.last ?? 0) < flushStart) store.del([keys.age(table)])
    else if (Number(age.since ?? 0) < flushStart) store.hset(keys.age(table), {since: flushStart})
  },

  bufCacheBase(store: MemoryStore, prefix: string, member: string, generation: string, base: number, ttlMs: number) {
    const keys = KeySpace.of(prefix)
    if (String(store.get(keys.generation(tableOf(member))) ?? 0) !== generation) return {cached: false, live: 0, inflight: 0}
    store.set(keys.base(member), base, ttlMs)
    return {
      cached: true,
      live: Number(store.get(keys.counter(member)) ?? 0),
      inflight: sum(Object.values(inflightOf(store, keys, member))),
    }
  },
}

export type BufferStepName = keyof typeof bufferSteps

/** The pending state of a prefix, for a full checkpoint (bases go along, as ODAC stores them). */
export function snapshotOf(store: MemoryStore, prefix: string): PendingSnapshot {
  const keys = KeySpace.of(prefix)
  const snapshot: PendingSnapshot = {counters: [], updates: [], queues: []}
  const head = (kind: string) => `${prefix}:${kind}:`
  for (const [key, value] of store.entriesWithPrefix(head('c'))) {
    if (typeof value !== 'number' || value === 0) continue
    const member = key.slice(head('c').length)
    const base = store.get(keys.base(member))
    snapshot.counters.push({member, delta: value, base: typeof base === 'number' ? base : null})
  }
  for (const [key, value] of store.entriesWithPrefix(head('u'))) {
    if (value && typeof value === 'object' && !Array.isArray(value)) snapshot.updates.push({member: key.slice(head('u').length), fields: value as Record<string, Json>})
  }
  for (const [key, value] of store.entriesWithPrefix(head('q'))) {
    if (Array.isArray(value) && value.length > 0) snapshot.queues.push({table: key.slice(head('q').length), rows: [...value]})
  }
  return snapshot
}

/**
 * Loads a checkpoint into an empty state before the application accepts writes: pending deltas,
 * fields and rows go back where they were; in-flight batches go back in flight, so the next flush
 * finishes them through the ledger (applied once, whether or not they had committed).
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
