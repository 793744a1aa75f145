import {KeySpace} from '../../keys.js'
import {finiteNumber} from '../../../ipc/finite-number.js'
import type {MemoryStore, StoredEntry} from '../../../ipc/memory/store.js'
import type {StoredBatch} from '../contract.js'
import {expectInteger, expectIntegerField, expectType, recordBad} from './checks.js'

/** The memory twin of lua/ack.lua: forgets an applied batch and moves its counter deltas into the cached bases. */
export function ack(store: MemoryStore, prefix: string, batchId: string, deadMembers: string[]): boolean {
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
}
