import {randomBytes} from 'node:crypto'

import {ExitCode, WbcError} from '../errors.js'
import type {Ipc, Json} from '../ipc/types.js'
import type {FenceRow} from '../sql/ledger.js'
import {KeySpace} from './keys.js'

/**
 * Rollback detection. A state store that restarts from an older snapshot (Redis without an
 * append-only file) brings back deltas the database already has, and its fence counter with
 * them; flushing them again would apply them twice. Exactly-once cannot survive a store that
 * forgets, so the flusher refuses, loudly, until an operator decides (`wbc recover --after-rollback`).
 *
 * Signals (redis driver): the database's fence row records the fence, lease token and epoch of
 * the last commit; the store keeps its epoch in `{prefix}:epoch`. The store is behind when a lease
 * it just issued is older than the database's fence (or the same fence issued to another lease),
 * when its epoch differs from the database's, or when its epoch is gone while it holds pending
 * state (a snapshot older than the epoch; a store that lost everything holds nothing to re-apply,
 * and adopts the database's epoch). The memory driver's store is the application's memory: a
 * restart that begins its fence counter at 0 is expected and catches up (see docs/design.md).
 */
export const epochKey = (prefix: string) => KeySpace.of(prefix).epoch
/** Set by a flush that detected a rollback; every flush refuses while it exists. */
export const rollbackKey = (prefix: string) => KeySpace.of(prefix).rollback

export interface RollbackRecord {
  /** When it was detected (ms). */
  at: number
  connection: string
  reason: string
  storeFence: number | null
  databaseFence: number | null
  storeEpoch: string | null
  databaseEpoch: string | null
}

export class StoreRolledBack extends WbcError {
  constructor(readonly record: RollbackRecord) {
    super('STORE_ROLLED_BACK', `the state store is behind database "${record.connection}": ${record.reason}; flushing is refused, it could apply writes a second time`, {
      exitCode: ExitCode.rollback,
      hint: 'Run `wbc recover --after-rollback` to see what may be applied again, then confirm it (--yes) to resume flushing; see "Guarantees and their limits" in the README.',
    })
  }
}

export const newEpoch = () => `${Date.now().toString(36)}-${randomBytes(6).toString('hex')}`

export async function readRollback(ipc: Ipc, prefix: string): Promise<RollbackRecord | null> {
  const raw = await ipc.get(rollbackKey(prefix))
  return raw && typeof raw === 'object' && !Array.isArray(raw) ? (raw as unknown as RollbackRecord) : null
}

export async function flagRollback(ipc: Ipc, prefix: string, record: RollbackRecord): Promise<void> {
  await ipc.set(rollbackKey(prefix), record as unknown as Json)
}

export async function readEpoch(ipc: Ipc, prefix: string): Promise<string | null> {
  const raw = await ipc.get(epochKey(prefix))
  return typeof raw === 'string' ? raw : null
}

/** The store's fence counter (the fence of the last lease it issued). */
export async function readStoreFence(ipc: Ipc, prefix: string): Promise<number> {
  return Number((await ipc.get(KeySpace.of(prefix).flushFence)) ?? 0) || 0
}

/** Whether the store holds anything a flush would apply (pending keys, queues, batches in flight, dead letters a retry re-buffers). */
export async function holdsPendingState(ipc: Ipc, prefix: string): Promise<boolean> {
  const keys = KeySpace.of(prefix)
  for (const index of [keys.countersIndex, keys.updatesIndex, keys.queuesIndex, keys.inflightIndex, keys.deadLettersIndex]) if ((await ipc.scard(index)) > 0) return true
  return false
}

/**
 * Compares a store with one database's fence row, as a flush does before its first commit there.
 * Returns null when they agree (or nothing says otherwise), else the reason the store is behind.
 * `leaseFence`: the fence of a lease the store just issued (a flush's), if any.
 */
export function compareWithDatabase(store: {epoch: string | null; pending: boolean; fence: number}, row: FenceRow | null): string | null {
  if (!row) return null
  if (store.epoch !== null && row.epoch !== null && store.epoch !== row.epoch) {
    return `its epoch marker (${store.epoch}) is not the one the database last committed from (${row.epoch}): another store, or one restored from elsewhere`
  }
  if (store.epoch === null && row.epoch !== null && store.pending) {
    return `its epoch marker is gone while it holds pending writes (the database last committed from epoch ${row.epoch}): it restarted from a snapshot older than that`
  }
  if (row.epoch !== null && store.epoch === row.epoch && store.fence < row.fence) {
    return `its fence counter (${store.fence}) is behind the database's fence (${row.fence}): it restarted from an older snapshot`
  }
  if (row.epoch !== null && store.epoch === row.epoch && row.mark !== null && store.fence < row.mark) {
    return `its fence counter (${store.fence}) is behind the claim mark the database committed (${row.mark}): it restarted from a snapshot taken during a flush`
  }
  return null
}
