import {formatDuration} from '../core/duration.js'
import type {LeaseRecord} from '../core/ipc/types.js'
import {isAlive} from '../core/locks/holder-alive.js'

/** Who holds a lease, as people read it. */
export function holderText(holder: LeaseRecord | null | undefined): string {
  if (!holder) return 'another process'
  if (holder.legacy) return 'an ODAC process (owner unknown)'
  return `${holder.host ?? '?'} pid ${holder.pid ?? '?'}`
}

/**
 * Why a flush (or recover) did nothing because the lease is held, and only advice that can help:
 * waiting helps a live holder (and, by its TTL, one gone on another host) — it is not offered when
 * the command already waited; a holder that never expires needs a release.
 */
export function leaseHeldMessage(holder: LeaseRecord | null | undefined, waited: string | null, what = 'nothing was flushed'): string {
  const who = holderText(holder)
  const ttl = holder?.ttlLeftMs ?? null
  const head = waited
    ? `the flush lease is still held by ${who} after waiting ${waited}; ${what}.`
    : `the flush lease is held by ${who}${ttl !== null ? ` (ttl ${formatDuration(ttl)})` : ''}; ${what}.`
  if (ttl === null) return `${head} Its lease never expires: once that process is gone, release it with \`wbc locks release flush --force\`.`
  const alive = holder ? isAlive(holder) : null
  if (alive === false) return `${head} Its process is gone: run the command again to take the lease over.`
  const gone = alive === null ? ` If that process is gone, its lease expires in ${formatDuration(ttl)} and the next flush takes it.` : ''
  if (waited) return `${head} It finishes the batches in flight itself.${gone}`
  return `${head} It finishes the batches in flight itself; use --wait (e.g. --wait 1m) to let it finish first.${gone}`
}
