import type {Ipc} from '../../ipc/types.js'
import {KeySpace} from '../keys.js'
import {decodeBatch} from './batch-format.js'
import type {StoredBatch} from './contract.js'

/**
 * The readBatch step, the same on both drivers: one read of `{prefix}:if:{batchId}` (atomic as it
 * is), decoded from whichever format the driver's claim stored it in and checked by name.
 */
export async function readBatch(ipc: Ipc, prefix: string, batchId: string, check?: {rows: boolean}): Promise<StoredBatch | null> {
  const key = KeySpace.of(prefix).batch(batchId)
  const raw = await ipc.get(key)
  return raw === null ? null : decodeBatch(raw, key, batchId, check)
}
