import {KeySpace} from '../../keys.js'
import {fieldsProblem, memberProblem} from '../../names.js'
import {ExitCode, WbcError} from '../../../errors.js'
import type {Json} from '../../../ipc/types.js'
import type {MemoryStore, StoredEntry} from '../../../ipc/memory/store.js'
import type {ClaimRequest, ClaimResult, QuarantinedKey, StoredBatch} from '../contract.js'
import {expectInteger, expectType, moveToBad, recordBad} from './checks.js'

/** The memory twin of lua/claim.lua: moves the given keys (and queued rows) of one table into a new in-flight batch. */
export function claim(store: MemoryStore, prefix: string, request: ClaimRequest): ClaimResult {
  if (store.checkpoint && !store.checkpoint.healthy) {
    throw new WbcError('CHECKPOINT_UNHEALTHY', `the checkpoint at ${store.checkpoint.path} could not be written; nothing is claimed until it can`, {
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
  expectType(store, keys.inflightDeltas(request.batchId), 'hash')
  const batch: StoredBatch = {id: request.batchId, table: request.table, createdAt: request.createdAt, counters: [], updates: [], inserts: []}
  const quarantined: QuarantinedKey[] = []
  // Content that cannot be flushed moves aside (as the redis step does), so it never holds up the rest.
  const quarantine = (kind: 'c' | 'u' | 'q', member: string, reason: string, taken?: StoredEntry) => {
    // Noted at the claim's time, as the redis step does (it has no clock of its own).
    if (taken) {
      store.put(keys.bad(`${kind}:${member}`), taken)
      recordBad(store, keys, `${kind}:${member}`, reason, request.createdAt)
    } else moveToBad(store, keys, kind, member, reason, request.createdAt)
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
    // Taken as they are, as the redis step takes them: the flusher checks them (setAsideRows).
    batch.inserts = store.lpop(keys.queue(request.table), request.maxInserts)
    if (store.llen(keys.queue(request.table)) === 0) store.srem(keys.queuesIndex, [request.table])
  }
  const empty = batch.counters.length + batch.updates.length + batch.inserts.length === 0
  if (empty) return {batch: null, quarantined}
  store.set(keys.batch(batch.id), batch as unknown as Json, 0)
  if (batch.counters.length > 0) store.hset(keys.inflightDeltas(batch.id), Object.fromEntries(batch.counters))
  store.sadd(keys.inflightIndex, [batch.id])
  store.incrBy(keys.generation(request.table), 1)
  return {batch, quarantined}
}
