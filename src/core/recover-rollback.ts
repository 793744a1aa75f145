import type {WbcConfig} from './config/schema.js'
import {KeySpace} from './buffer/keys.js'
import {compareWithDatabase, epochKey, holdsPendingState, newEpoch, readEpoch, readRollback, readStoreFence, rollbackKey, type RollbackRecord} from './buffer/rollback.js'
import {LeaseHeld} from './errors.js'
import {readStatus, type TableStatus} from './inspect/status.js'
import type {Ipc} from './ipc/types.js'
import {Databases} from './sql/databases.js'
import {ensureLedger, FENCE_TABLE, fenceRow, highestFence} from './sql/ledger.js'

export interface DatabaseFence {
  connection: string
  fence: number | null
  epoch: string | null
  /** Why the store is behind this database, when it is. */
  behind: string | null
  /** The database could not be read. */
  error?: string
}

export interface RollbackAssessment {
  /** What the flush that refused recorded (null: no flush found a rollback). */
  flagged: RollbackRecord | null
  store: {epoch: string | null; fence: number; pending: boolean}
  databases: DatabaseFence[]
  /** What may be applied again once flushing resumes: everything pending, per table. */
  pending: TableStatus[]
  /** A flush refused, or a database shows the store behind it. */
  rolledBack: boolean
}

/** Compares the state store with every configured database (nothing is changed). */
export async function assessRollback(config: WbcConfig, ipc: Ipc): Promise<RollbackAssessment> {
  const prefix = config.ipc.prefix
  const store = {epoch: await readEpoch(ipc, prefix), fence: await readStoreFence(ipc, prefix), pending: await holdsPendingState(ipc, prefix)}
  const dbs = new Databases(config.connections)
  const databases: DatabaseFence[] = []
  try {
    for (const connection of Object.keys(config.connections)) {
      try {
        const knex = dbs.get(connection).knex
        const row = (await knex.schema.hasTable(FENCE_TABLE)) ? await fenceRow(knex, prefix) : null
        databases.push({connection, fence: row?.fence ?? null, epoch: row?.epoch ?? null, behind: config.ipc.driver === 'redis' ? compareWithDatabase(store, row) : null})
      } catch (error) {
        databases.push({connection, fence: null, epoch: null, behind: null, error: (error as Error).message})
      }
    }
  } finally {
    await dbs.close()
  }
  const flagged = await readRollback(ipc, prefix)
  const pending = (await readStatus(ipc, prefix)).tables
  return {flagged, store, databases, pending, rolledBack: flagged !== null || databases.some((d) => d.behind !== null)}
}

/**
 * The operator's decision after a rollback: the store is made current again — a new epoch marker
 * in the store and in every database's fence row, the store's fence counter past every
 * database's fence — and the flag is cleared, so flushing resumes and applies what is pending.
 * Done under the flush lease, so no flush runs meanwhile.
 */
export async function resyncAfterRollback(config: WbcConfig, ipc: Ipc): Promise<{epoch: string; fence: number}> {
  const prefix = config.ipc.prefix
  const keys = KeySpace.of(prefix)
  const lease = await ipc.lock(keys.flushLock, 60)
  if (!lease) {
    const holder = await ipc.inspectLock(keys.flushLock)
    throw new LeaseHeld(keys.flushLock, holder?.host ? `${holder.host} pid ${holder.pid ?? '?'}` : 'another process')
  }
  try {
    const epoch = newEpoch()
    let highest = 0
    const dbs = new Databases(config.connections)
    try {
      for (const connection of Object.keys(config.connections)) {
        const knex = dbs.get(connection).knex
        await ensureLedger(knex, prefix)
        highest = Math.max(highest, highestFence(await fenceRow(knex, prefix)))
        await knex(FENCE_TABLE).where({name: prefix}).update({epoch, holder: null})
      }
    } finally {
      await dbs.close()
    }
    const fenceKey = keys.flushFence
    const current = await readStoreFence(ipc, prefix)
    if (current <= highest) await ipc.incrBy(fenceKey, highest - current + 1)
    await ipc.set(epochKey(prefix), epoch)
    await ipc.del(rollbackKey(prefix))
    return {epoch, fence: await readStoreFence(ipc, prefix)}
  } finally {
    await ipc.unlock(keys.flushLock, lease.token).catch(() => {})
  }
}
