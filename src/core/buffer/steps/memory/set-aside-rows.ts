import {KeySpace} from '../../keys.js'
import {isObject} from '../../names.js'
import type {Json} from '../../../ipc/types.js'
import type {MemoryStore} from '../../../ipc/memory/store.js'
import type {BadRows, RowsSetAside} from '../contract.js'
import {expectType, recordBad} from './checks.js'

/** The memory twin of lua/setAsideRows.lua: moves the named queued rows of a batch to the table's bad rows. */
export function setAsideRows(store: MemoryStore, prefix: string, batchId: string, table: string, rows: BadRows, now = Date.now()): RowsSetAside | null {
  const keys = KeySpace.of(prefix)
  const batch = store.get(keys.batch(batchId))
  if (batch === null) return null
  // Only a batch as this driver's claim writes it (rows as values, not text) is rewritten.
  if (!isObject(batch) || batch.table !== table || batch.encoded !== undefined || !Array.isArray(batch.inserts) || !Array.isArray(batch.counters) || !Array.isArray(batch.updates)) {
    return {foreign: true}
  }
  const count = batch.inserts.length
  const named = new Set<number>()
  let last = -1
  for (const position of rows.positions) {
    if (!Number.isInteger(position) || position <= last || position >= count) return {changed: true}
    named.add(position)
    last = position
  }
  if (count !== rows.count) return {changed: true}
  const left = batch.counters.length + batch.updates.length + count - named.size
  if (named.size === 0) return {setAside: 0, left}
  expectType(store, keys.bad(`q:${table}`), 'list')
  expectType(store, keys.badIndex, 'hash')
  const kept: Json[] = []
  const bad: Json[] = []
  batch.inserts.forEach((row, r) => (named.has(r) ? bad : kept).push(row))
  store.rpush(keys.bad(`q:${table}`), bad)
  recordBad(store, keys, `q:${table}`, rows.reason, now)
  store.set(keys.batch(batchId), {...batch, inserts: kept}, 0)
  return {setAside: bad.length, left}
}
