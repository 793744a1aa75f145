import {KeySpace} from '../../keys.js'
import {badRowsReason, isObject, rowProblem} from '../../names.js'
import type {Json} from '../../../ipc/types.js'
import type {MemoryStore} from '../../../ipc/memory/store.js'
import type {RowsSetAside} from '../contract.js'
import {expectType, recordBad} from './checks.js'

/** The memory twin of lua/setAsideRows.lua: moves a batch's queued rows that cannot be inserted to the table's bad rows. */
export function setAsideRows(store: MemoryStore, prefix: string, batchId: string, table: string, now = Date.now()): RowsSetAside | null {
  const keys = KeySpace.of(prefix)
  const batch = store.get(keys.batch(batchId))
  if (batch === null) return null
  // Only a batch as this driver's claim writes it (rows as values, not text) is rewritten.
  if (!isObject(batch) || batch.table !== table || batch.encoded !== undefined || !Array.isArray(batch.inserts) || !Array.isArray(batch.counters) || !Array.isArray(batch.updates)) {
    return {foreign: true}
  }
  expectType(store, keys.bad(`q:${table}`), 'list')
  expectType(store, keys.badIndex, 'hash')
  const kept: Json[] = []
  const bad: Json[] = []
  let notObjects = 0
  for (const row of batch.inserts) {
    const problem = rowProblem(row)
    if (!problem) kept.push(row)
    else {
      bad.push(row)
      if (problem.notObject) notObjects++
    }
  }
  const left = batch.counters.length + batch.updates.length + kept.length
  if (bad.length === 0) return {setAside: 0, left}
  const reason = badRowsReason(notObjects, bad.length - notObjects)
  store.rpush(keys.bad(`q:${table}`), bad)
  recordBad(store, keys, `q:${table}`, reason, now)
  store.set(keys.batch(batchId), {...batch, inserts: kept}, 0)
  return {setAside: bad.length, reason, left}
}
