import {KeySpace} from '../keys.js'
import {CorruptValue, InvalidArgument, WrongType} from '../../errors.js'
import type {Json} from '../../ipc/types.js'
import type {MemoryStore} from '../../ipc/memory/store.js'
import {serializeError} from '../../ipc/memory/protocol.js'
import {assertFiniteNumber, describe} from '../../ipc/validate.js'
import {registerSteps, type MemoryStep} from '../../ipc/memory/step-registry.js'
import {chunkSha} from '../../streams/chunk.js'
import type {BadKind, CounterReading, RequeueEntry} from './contract.js'
import {ack} from './memory/ack.js'
import {expectStampable, expectStampableKeys, expectType, finiteAt, inflightOf, liveAt, moveToBad, recordUpdateTime, stamp, stampKeys, sum, tableOf} from './memory/checks.js'
import {counterKeys} from './memory/counter-keys.js'
import {claim} from './memory/claim.js'
import {setAsideRows} from './memory/set-aside-rows.js'

/*
 * The write buffer's atomic steps on the memory driver, one function per step, each named as its
 * contract method and its Lua file (lua/{name}.lua), which it mirrors line for line. Each runs
 * synchronously inside the primary, so it is one indivisible step.
 */

/**
 * Several increments in one call, as lua/increment.lua takes them (`items`: member, delta, …): each
 * is its own step, and one that fails does not stop the others. What all of them read (the
 * in-flight index, the counter index's type, each table's stamp keys) is read once, and each
 * table is stamped once at the end with its count of writes; nothing between them runs meanwhile.
 * Answers four items per increment: live, base or null, the in-flight sum, and when no base is
 * cached the reading ([generation, batch id, delta, …]) else null; or the error (serialized) and three nulls.
 */
export function increment(store: MemoryStore, prefix: string, ...items: Array<string | number>): unknown[] {
  const keys = KeySpace.of(prefix)
  const now = Date.now()
  const inflightIds = store.smembers(keys.inflightIndex)
  expectType(store, keys.countersIndex, 'set')
  const out: unknown[] = new Array(items.length * 2)
  // Per table: the error its stamp keys give (checked before any of its increments), or its writes so far.
  const tables = new Map<string, {error: unknown; age: string; stats: string; writes: number}>()
  for (let i = 0; i < items.length; i += 2) {
    const member = items[i] as string
    const delta = items[i + 1] as number
    const o = i * 2
    try {
      // Another process may send anything: a delta that is not a number would be joined as text,
      // and a member that is not a string (an array, say) would name the key of another.
      if (typeof member !== 'string') throw new InvalidArgument('member', `expected a counter member (a string), got ${describe(member)}`)
      assertFiniteNumber(delta, 'delta')
      const k = counterKeys(keys, member)
      let table = tables.get(k.table)
      if (!table) {
        table = {error: undefined, age: k.age, stats: k.stats, writes: 0}
        try {
          expectStampableKeys(store, k.age, k.stats)
        } catch (error) {
          table.error = error
        }
        tables.set(k.table, table)
      }
      if (table.error !== undefined) throw table.error
      let inflight = 0
      let reading: Array<string | number> | null = null
      const byBatch = inflightIds.length > 0 ? inflightOf(store, keys, member, inflightIds) : undefined
      if (byBatch) inflight = sum(Object.values(byBatch))
      const base = finiteAt(store, k.base)
      if (base === null) {
        reading = [String(store.get(k.generation) ?? 0)]
        if (byBatch) for (const [id, value] of Object.entries(byBatch)) reading.push(id, value)
      }
      // As lua/increment.lua: a counter this delta would take past the largest double is left as it is.
      if (Math.abs(delta) >= 1e15) {
        const current = store.get(k.counter)
        if (typeof current === 'number' && !Number.isFinite(current + delta)) {
          throw new InvalidArgument('delta', `adding ${String(delta)} would take the counter beyond the largest finite number (${k.counter})`)
        }
      }
      // The first write: incrBy writes nothing when it throws.
      out[o] = store.incrBy(k.counter, delta)
      store.sadd(keys.countersIndex, [member])
      table.writes++
      out[o + 1] = base
      out[o + 2] = inflight
      out[o + 3] = reading
    } catch (error) {
      out[o] = serializeError(error)
      out[o + 1] = out[o + 2] = out[o + 3] = null
    }
  }
  for (const table of tables.values()) if (table.writes > 0) stampKeys(store, table.age, table.stats, table.writes, now)
  return out
}

export function update(store: MemoryStore, prefix: string, member: string, fields: Record<string, Json>) {
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
}

export function insert(store: MemoryStore, prefix: string, table: string, rows: Json[]) {
  const keys = KeySpace.of(prefix)
  expectType(store, keys.queue(table), 'list')
  expectType(store, keys.queuesIndex, 'set')
  expectStampable(store, keys, table)
  const length = store.rpush(keys.queue(table), rows)
  store.sadd(keys.queuesIndex, [table])
  stamp(store, keys, table, rows.length)
  return length
}

export function quarantine(store: MemoryStore, prefix: string, kind: BadKind, member: string, reason: string): void {
  const keys = KeySpace.of(prefix)
  expectType(store, keys.indexOf(kind), 'set')
  expectType(store, keys.badIndex, 'hash')
  store.srem(keys.indexOf(kind), [member])
  moveToBad(store, keys, kind, member, reason)
}

export function readCounter(store: MemoryStore, prefix: string, member: string): CounterReading {
  const keys = KeySpace.of(prefix)
  const inflight = inflightOf(store, keys, member)
  const live = liveAt(store, keys.counter(member))
  const generation = store.get(keys.generation(tableOf(member)))
  return {live, base: finiteAt(store, keys.base(member)), inflight, generation: String(generation ?? 0)}
}

export function requeue(store: MemoryStore, prefix: string, table: string, id: string, entry: RequeueEntry): boolean {
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
}

export function compactChunk(store: MemoryStore, key: string, position: number, sha: string, mask: string): number {
  const items = store.lrange(key, position, position + mask.length - 1)
  if (items.length !== mask.length || chunkSha(items) !== sha) return -1
  const kept = items.filter((_, i) => mask[i] === '1')
  return store.lsplice(key, position, mask.length, kept)
}

export function settleAge(store: MemoryStore, prefix: string, table: string, flushStart: number): void {
  const keys = KeySpace.of(prefix)
  const age = store.hgetall(keys.age(table))
  if (!age) return
  if (Number(age.last ?? 0) < flushStart) store.del([keys.age(table)])
  else if (Number(age.since ?? 0) < flushStart) store.hset(keys.age(table), {since: flushStart})
}

export function cacheBase(store: MemoryStore, prefix: string, member: string, generation: string, base: number, ttlMs: number) {
  const keys = KeySpace.of(prefix)
  if (String(store.get(keys.generation(tableOf(member))) ?? 0) !== generation) return {cached: false, live: 0, inflight: 0}
  // Reads that can fail come before the one write (which replaces a key of any type).
  const inflight = sum(Object.values(inflightOf(store, keys, member)))
  const live = liveAt(store, keys.counter(member))
  store.set(keys.base(member), base, ttlMs)
  return {cached: true, live, inflight}
}

/**
 * The steps as the primary runs them, with what each must make durable before it is answered
 * (see step-registry.ts): buffered writes reach the checkpoint with the next full checkpoint
 * (write-behind); an ack that is lost leaves its batch in flight, finished again harmlessly
 * through the ledger (mirrored, not awaited); everything else (claims, quarantine, requeues,
 * compaction) is answered only once the file holds it.
 */
export const memorySteps = {
  increment: {durability: 'write-behind', run: increment},
  update: {durability: 'write-behind', run: update},
  insert: {durability: 'write-behind', run: insert},
  claim: {durability: 'before-reply', run: claim},
  setAsideRows: {durability: 'before-reply', run: setAsideRows},
  quarantine: {durability: 'before-reply', run: quarantine},
  ack: {durability: 'mirrored', run: ack},
  readCounter: {durability: 'before-reply', run: readCounter},
  requeue: {durability: 'before-reply', run: requeue},
  compactChunk: {durability: 'before-reply', run: compactChunk},
  settleAge: {durability: 'before-reply', run: settleAge},
  cacheBase: {durability: 'before-reply', run: cacheBase},
} satisfies Record<string, MemoryStep>

export type MemoryStepName = keyof typeof memorySteps

// Every process that imports the buffer layer can run a memory primary that serves these steps.
registerSteps(memorySteps)
