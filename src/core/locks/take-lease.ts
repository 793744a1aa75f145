import type {Ipc, Lease, LeaseRecord} from '../ipc/types.js'
import {isAlive} from './holder-alive.js'

export type LeaseAttempt = {lease: Lease; tookOverFrom: LeaseRecord | null; holder?: undefined} | {lease: null; holder: LeaseRecord | null; tookOverFrom?: undefined}

/**
 * Takes a lease; when it is held by a process of this host that no longer runs (killed, crashed),
 * takes it over at once instead of leaving it until its TTL runs out. Safe: the dead holder can
 * neither claim nor commit any more, and the new lease's fence is above every fence and claim
 * mark it was given, so the database refuses anything of the old lease. The release compares the
 * dead holder's token, so a lease someone else took meanwhile is never removed.
 */
export async function takeLease(ipc: Ipc, key: string, ttlSeconds: number): Promise<LeaseAttempt> {
  const lease = await ipc.lock(key, ttlSeconds)
  if (lease) return {lease, tookOverFrom: null}
  const holder = await ipc.inspectLock(key)
  if (!holder?.token || isAlive(holder) !== false) return {lease: null, holder}
  const released = await ipc.unlock(key, holder.token)
  if (!released.released) return {lease: null, holder: released.reason === 'not-owner' ? released.holder : await ipc.inspectLock(key)}
  const taken = await ipc.lock(key, ttlSeconds)
  return taken ? {lease: taken, tookOverFrom: holder} : {lease: null, holder: await ipc.inspectLock(key)}
}
