import {KeySpace} from '../../buffer/keys.js'
import {badRowsReason, fieldsProblem, memberProblem, rowProblem} from '../../buffer/names.js'
import type {CheckpointContents, FileWrite} from '../../checkpoint/checkpoint.js'
import {fullWritesOf} from '../../checkpoint/mirror.js'
import {CorruptValue, ExitCode, WbcError, WrongType} from '../../errors.js'
import {chunkSha} from '../../streams/chunk.js'
import {finiteNumber} from '../finite-number.js'
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
function stamp(store: MemoryStore, keys: KeySpace, table: string, writes = 1, now = Date.now()): void {
  store.hstamp(keys.age(table), 'last', 'since', now)
  store.hincrBy(keys.stats(table), 'writes', writes)
}

/*
 * Checks run before a step's first write, as checks.lua does on redis: a step that throws
 * half-way would leave half of its writes behind (nothing is rolled back).
 */

/** The key's type; throws unless it is absent or of the expected type. */
function expectType(store: MemoryStore, key: string, expected: string): string {
  const found = store.type(key)
  if (found !== 'none' && found !== expected) throw new WrongType(key, expected, found)
  return found
}

const isCount = (value: Json | null) => value === null || (typeof value === 'number' && Number.isSafeInteger(value))

/** Throws unless the hash field is absent or an integer (HINCRBY on redis refuses anything else). */
function expectIntegerField(store: MemoryStore, key: string, field: string): void {
  if (!isCount(store.hget(key, field))) throw new WrongType(key, 'hash of integer counts', `hash whose field ${field} is not an integer`)
}

/** Throws unless the key is absent or an integer (INCR on redis refuses anything else). */
function expectInteger(store: MemoryStore, key: string): void {
  expectType(store, key, 'string')
  if (!isCount(store.get(key))) throw new WrongType(key, 'integer', 'string that is not an integer')
}

function expectStampable(store: MemoryStore, keys: KeySpace, table: string): void {
  expectType(store, keys.age(table), 'hash')
  expectType(store, keys.stats(table), 'hash')
  expectIntegerField(store, keys.stats(table), 'writes')
}

/** A finite number at the key, or null for anything else (absent, text, another type): how a cached base is read. */
function finiteAt(store: MemoryStore, key: string): number | null {
  if (store.type(key) !== 'string') return null
  const value = store.get(key)
  return typeof value === 'number' && Number.isFinite(value) ? value : null
}

/** A counter's live delta (0 when absent); throws naming the key when it is not a number (as liveDelta in checks.lua). */
function liveAt(store: MemoryStore, key: string): number {
  expectType(store, key, 'string')
  const value = store.get(key)
  if (value === null) return 0
  if (typeof value !== 'number' || !Number.isFinite(value)) throw new WrongType(key, 'number', 'string that is not a number')
  return value
}

/** Records when a row's fields were written (keeps a later time already recorded). */
function recordUpdateTime(store: MemoryStore, key: string, member: string, now: number): void {
  const recorded = store.hget(key, member)
  if (!(typeof recorded === 'number' && recorded >= now)) store.hset(key, {[member]: now})
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
    // A total is never made of text (NaN): a delta that is not a number fails naming its key.
    if (delta !== null && !(typeof delta === 'number' && Number.isFinite(delta))) {
      throw new WrongType(keys.inflightDeltas(id), 'hash of numbers', `hash whose field ${member} is not a number`)
    }
    if (delta !== null) inflight[id] = delta
  }
  return inflight
}

export const bufferSteps = {
  bufIncrement(store: MemoryStore, prefix: string, member: string, delta: number) {
    const keys = KeySpace.of(prefix)
    const table = tableOf(member)
    // Reads and checks first: incrBy (which writes nothing when it throws) is the first write.
    expectType(store, keys.countersIndex, 'set')
    const byBatch = inflightOf(store, keys, member)
    const inflight = sum(Object.values(byBatch))
    expectStampable(store, keys, table)
    const base = finiteAt(store, keys.base(member))
    const live = store.incrBy(keys.counter(member), delta)
    store.sadd(keys.countersIndex, [member])
    stamp(store, keys, table)
    if (base !== null) return {live, base, inflight}
    // No cached base: the reading a cold total starts from, taken in this same step.
    const generation = String(store.get(keys.generation(table)) ?? 0)
    return {live, base, inflight, reading: {live, base, inflight: byBatch, generation}}
  },

  bufUpdate(store: MemoryStore, prefix: string, member: string, fields: Record<string, Json>) {
    const keys = KeySpace.of(prefix)
    const table = tableOf(member)
    expectType(store, keys.update(member), 'hash')
    expectType(store, keys.updatesIndex, 'set')
    expectStampable(store, keys, table)
    expectType(store, keys.updateTimes(table), 'hash')
    const now = Date.now()
    store.hset(keys.update(member), fields)
    store.sadd(keys.updatesIndex, [member])
    recordUpdateTime(store, keys.updateTimes(table), member, now)
    stamp(store, keys, table, 1, now)
  },

  bufInsert(store: MemoryStore, prefix: string, table: string, rows: Json[]) {
    const keys = KeySpace.of(prefix)
    expectType(store, keys.queue(table), 'list')
    expectType(store, keys.queuesIndex, 'set')
    expectStampable(store, keys, table)
    const length = store.rpush(keys.queue(table), rows)
    store.sadd(keys.queuesIndex, [table])
    stamp(store, keys, table, rows.length)
    return length
  },

  bufClaim(store: MemoryStore, prefix: string, request: ClaimRequest): ClaimResult {
    if (store.journal && !store.journal.healthy) {
      throw new WbcError('CHECKPOINT_UNHEALTHY', `the checkpoint at ${store.journal.path} could not be written; nothing is claimed until it can`, {
        exitCode: ExitCode.unavailable,
        hint: 'Free space or fix permissions of the checkpoint folder; the next checkpoint clears this.',
      })
    }
    const keys = KeySpace.of(prefix)
    // Every key written below is checked first (as the redis step does): a claim that stopped
    // half-way would have taken keys without recording the batch.
    for (const index of [keys.countersIndex, keys.updatesIndex, keys.queuesIndex, keys.inflightIndex]) expectType(store, index, 'set')
    expectInteger(store, keys.generation(request.table))
    expectType(store, keys.badIndex, 'hash')
    expectType(store, keys.bad(`q:${request.table}`), 'list')
    expectType(store, keys.inflightDeltas(request.batchId), 'hash')
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
      // Names first: a member whose where (or column) could not be written as SQL never is.
      const badName = memberProblem(member, true)
      if (badName) {
        quarantine('c', member, badName, entry)
        continue
      }
      const value = entry.value
      if (entry.type !== 'string' || typeof value !== 'number' || !Number.isFinite(value)) {
        quarantine('c', member, entry.type === 'string' ? `holds ${JSON.stringify(value).slice(0, 40)}, not a number` : `holds a ${entry.type}, not a number`, entry)
        continue
      }
      if (value !== 0) batch.counters.push([member, value])
    }
    if (request.updates.length > 0) store.srem(keys.updatesIndex, request.updates)
    // When each row was last written moves into the batch with it (absent for rows written by others).
    const updateTimes = keys.updateTimes(request.table)
    const timesKept = store.type(updateTimes) === 'hash'
    for (const member of request.updates) {
      const at = timesKept ? store.hget(updateTimes, member) : null
      if (at !== null) store.hdel(updateTimes, [member])
      const entry = store.take(keys.update(member))
      if (!entry) continue
      const badName = memberProblem(member, false)
      if (badName) {
        quarantine('u', member, badName, entry)
        continue
      }
      if (entry.type !== 'hash') {
        quarantine('u', member, `holds a ${entry.type}, not a hash`, entry)
        continue
      }
      const badField = fieldsProblem((entry.value as Map<string, Json>).keys())
      if (badField) {
        quarantine('u', member, badField, entry)
        continue
      }
      const fields = Object.fromEntries(entry.value as Map<string, Json>)
      batch.updates.push(typeof at === 'number' && Number.isFinite(at) ? [member, fields, at] : [member, fields])
    }
    const queueType = store.type(keys.queue(request.table))
    if (request.maxInserts > 0 && queueType !== 'list' && queueType !== 'none') {
      store.srem(keys.queuesIndex, [request.table])
      quarantine('q', request.table, `holds a ${queueType}, not a list`)
    } else if (request.maxInserts > 0) {
      const rows = store.lpop(keys.queue(request.table), request.maxInserts)
      const problems = rows.map(rowProblem)
      batch.inserts = rows.filter((_, i) => !problems[i])
      const bad = rows.filter((_, i) => problems[i])
      if (bad.length > 0) {
        store.rpush(keys.bad(`q:${request.table}`), bad)
        const notObjects = problems.filter((p) => p?.notObject).length
        const reason = badRowsReason(notObjects, bad.length - notObjects)
        store.hset(keys.badIndex, {[`q:${request.table}`]: JSON.stringify({reason, at: Date.now()})})
        quarantined.push({key: `q:${request.table}`, reason})
      }
      if (store.llen(keys.queue(request.table)) === 0) store.srem(keys.queuesIndex, [request.table])
    }
    const empty = batch.counters.length + batch.updates.length + batch.inserts.length === 0
    if (empty) return {batch: null, quarantined}
    store.set(keys.batch(batch.id), batch as unknown as Json, 0)
    if (batch.counters.length > 0) store.hset(keys.inflightDeltas(batch.id), Object.fromEntries(batch.counters))
    store.sadd(keys.inflightIndex, [batch.id])
    store.incrBy(keys.generation(request.table), 1)
    return {batch, quarantined}
  },

  bufQuarantine(store: MemoryStore, prefix: string, kind: BadKind, member: string, reason: string): void {
    const keys = KeySpace.of(prefix)
    expectType(store, keys.indexOf(kind), 'set')
    expectType(store, keys.badIndex, 'hash')
    store.srem(keys.indexOf(kind), [member])
    moveToBad(store, keys, kind, member, reason)
  },

  bufAck(store: MemoryStore, prefix: string, batchId: string, deadMembers: string[]): boolean {
    const keys = KeySpace.of(prefix)
    expectType(store, keys.inflightIndex, 'set')
    const batch = store.get(keys.batch(batchId)) as unknown as StoredBatch | null
    if (!batch) {
      store.srem(keys.inflightIndex, [batchId])
      return false
    }
    const stats = keys.stats(batch.table)
    expectType(store, stats, 'hash')
    expectIntegerField(store, stats, 'flushed')
    expectInteger(store, keys.generation(batch.table))
    expectType(store, keys.badIndex, 'hash')
    const dead = new Set(deadMembers)
    const flushed = batch.counters.length + batch.updates.length + batch.inserts.length - dead.size
    // A base is only a cache: one that is not a finite number is dropped (moved aside, noted), never blocks the ack.
    const moves: Array<[string, number]> = []
    const drops: Array<[string, string]> = []
    for (const [member, delta] of batch.counters) {
      if (dead.has(member)) continue
      const found = store.type(keys.base(member))
      // A batch written by someone else may hold a delta that is not a number: the base cannot follow it.
      const amount = typeof delta === 'number' ? (Number.isFinite(delta) ? delta : null) : finiteNumber(delta)
      if (found !== 'none' && amount === null) {
        const what = typeof delta === 'string' ? JSON.stringify(delta).slice(0, 40) : delta === null ? 'null' : `a ${Array.isArray(delta) ? 'table' : typeof delta === 'object' ? 'table' : typeof delta}`
        drops.push([member, `batch delta ${what} is not a number`])
      } else if (found === 'string') {
        const value = store.get(keys.base(member))
        if (typeof value === 'number' && Number.isFinite(value)) moves.push([member, amount!])
        else drops.push([member, `cached base holds ${JSON.stringify(value).slice(0, 40)}, not a number`])
      } else if (found !== 'none') drops.push([member, `cached base holds a ${found}, not a number`])
    }
    const drop = (member: string, reason: string) => {
      const taken = store.take(keys.base(member))
      if (!taken) return
      store.put(keys.bad(`b:${member}`), {type: taken.type, value: taken.value, expireAt: 0} as StoredEntry)
      recordBad(store, keys, `b:${member}`, `${reason}; dropped (read again from the database)`)
    }
    store.hincrBy(stats, 'flushed', flushed)
    store.del([keys.inflightDeltas(batchId)])
    for (const [member, delta] of moves) {
      store.incrIfExists(keys.base(member), delta)
      const value = store.get(keys.base(member)) as number
      if (!Number.isFinite(value)) drop(member, `cached base grew to ${String(value)}, beyond a finite number`)
    }
    for (const [member, reason] of drops) drop(member, reason)
    store.del([keys.batch(batchId)])
    store.srem(keys.inflightIndex, [batchId])
    store.incrBy(keys.generation(batch.table), 1)
    return true
  },

  bufReadCounter(store: MemoryStore, prefix: string, member: string): CounterReading {
    const keys = KeySpace.of(prefix)
    const inflight = inflightOf(store, keys, member)
    const live = liveAt(store, keys.counter(member))
    const generation = store.get(keys.generation(tableOf(member)))
    return {live, base: finiteAt(store, keys.base(member)), inflight, generation: String(generation ?? 0)}
  },

  bufRequeue(store: MemoryStore, prefix: string, table: string, id: string, entry: RequeueEntry): boolean {
    const keys = KeySpace.of(prefix)
    expectType(store, keys.deadLetters(table), 'hash')
    if (store.hget(keys.deadLetters(table), id) === null) return false
    // Every key is checked before the dead letter is removed: a requeue that fails leaves it in place.
    if (entry.kind === 'counter') {
      expectType(store, keys.countersIndex, 'set')
      for (const [member, delta] of entry.deltas) {
        if (expectType(store, keys.counter(member), 'string') === 'string' && finiteAt(store, keys.counter(member)) === null) {
          throw new WrongType(keys.counter(member), 'number', 'string that is not a number')
        }
        if (typeof delta !== 'number' || !Number.isFinite(delta)) throw new CorruptValue(`${keys.deadLetters(table)} (field ${id})`, `delta ${String(delta)} of ${member} is not a number`)
      }
    } else if (entry.kind === 'update') {
      expectType(store, keys.updatesIndex, 'set')
      expectType(store, keys.update(entry.member), 'hash')
      expectType(store, keys.updateTimes(table), 'hash')
    } else {
      expectType(store, keys.queuesIndex, 'set')
      expectType(store, keys.queue(table), 'list')
    }
    store.hdel(keys.deadLetters(table), [id])
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
      recordUpdateTime(store, keys.updateTimes(table), entry.member, Date.now())
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
    // Reads that can fail come before the one write (which replaces a key of any type).
    const inflight = sum(Object.values(inflightOf(store, keys, member)))
    const live = liveAt(store, keys.counter(member))
    store.set(keys.base(member), base, ttlMs)
    return {cached: true, live, inflight}
  },
}

export type BufferStepName = keyof typeof bufferSteps

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
