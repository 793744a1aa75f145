import {ExitCode, LeaseHeld, WbcError} from '../errors.js'
import {scanKeys} from '../ipc/cursor.js'
import type {Ipc, LeaseRecord} from '../ipc/types.js'
import {isAlive} from '../locks/holder-alive.js'
import {KeySpace} from '../buffer/keys.js'

export {isAlive} from '../locks/holder-alive.js'

export interface LockInfo {
  key: string
  owner: string | null
  host: string | null
  pid: number | null
  /** Whether the holder's process runs (checked only on this host; null elsewhere or unknown). */
  alive: boolean | null
  ageMs: number | null
  ttlMs: number | null
  fence: number | null
  legacy: boolean
}

function info(record: LeaseRecord, now: number): LockInfo {
  return {
    key: record.key,
    owner: record.token,
    host: record.host,
    pid: record.pid,
    alive: isAlive(record),
    ageMs: record.acquiredAt === null ? null : Math.max(0, now - record.acquiredAt),
    ttlMs: record.ttlLeftMs,
    fence: record.fence,
    legacy: record.legacy,
  }
}

/** Every lease under the prefix (`{prefix}:lock:*`), found with a cursor. */
export async function listLocks(ipc: Ipc, prefix: string, now = Date.now()): Promise<LockInfo[]> {
  const keys = new Set<string>()
  for await (const page of scanKeys(ipc, `${prefix}:lock:*`)) for (const key of page) if (!key.endsWith(':fence')) keys.add(key)
  const locks: LockInfo[] = []
  for (const key of [...keys].sort()) {
    const record = await ipc.inspectLock(key).catch(() => null)
    if (record) locks.push(info(record, now))
  }
  return locks
}

export interface ReleaseResult {
  key: string
  released: boolean
  previous: LockInfo | null
  forced: boolean
}

/**
 * Releases a lease held by someone else. Refused while the holder is alive (or on another host)
 * and its TTL has not passed, unless forced. The next holder gets a higher fence, so a released
 * holder that wakes up can no longer commit.
 */
export async function releaseLock(ipc: Ipc, prefix: string, key: string, options: {force?: boolean; confirm?: (lock: LockInfo) => Promise<void>} = {}): Promise<ReleaseResult> {
  const full = key.startsWith(`${prefix}:`) ? key : `${prefix}:lock:${key}`
  if (!full.startsWith(`${prefix}:lock:`) || full.endsWith(':fence')) {
    throw new WbcError('NOT_A_LOCK', `"${key}" is not a lease under ${prefix}:lock:`, {exitCode: ExitCode.usage, hint: 'See the keys `wbc locks` lists.'})
  }
  const record = await ipc.inspectLock(full)
  if (!record) return {key: full, released: false, previous: null, forced: false}
  const previous = info(record, Date.now())
  const mayBeLive = previous.alive !== false
  if (mayBeLive && !options.force) {
    const who = previous.legacy ? 'an ODAC process (owner unknown)' : `${previous.host} pid ${previous.pid} (${previous.alive ? 'alive' : 'on another host'})`
    const error = new LeaseHeld(full, who)
    Object.assign(error, {hint: 'It may still be working. Release it anyway with --force: its fence then keeps it from committing.'})
    throw error
  }
  await options.confirm?.(previous)
  const released = record.token === null ? (await ipc.del(full)) > 0 : (await ipc.unlock(full, record.token)).released
  const forced = Boolean(options.force && mayBeLive)
  if (released) {
    // Releases belong to the history operators read (`wbc streams tail events`, the dashboard).
    const event = {at: Date.now(), type: 'lease-released', key: full, forced, holder: `${previous.host ?? '?'}:${previous.pid ?? '?'}`, fence: previous.fence}
    await ipc.rpush(KeySpace.of(prefix).events, event).catch(() => {})
  }
  return {key: full, released, previous, forced}
}
