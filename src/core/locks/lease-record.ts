import type {Json, Lease, LeaseRecord} from '../ipc/types.js'

/** What wbc stores at a lock key: enough for an operator to see who holds it and since when. */
export interface StoredLease {
  token: string
  host: string
  pid: number
  acquiredAt: number
  fence: number
  ttlMs: number
}

export function toLease(key: string, stored: StoredLease): Lease {
  return {key, token: stored.token, fence: stored.fence, host: stored.host, pid: stored.pid, acquiredAt: stored.acquiredAt, ttlMs: stored.ttlMs}
}

/** Reads a lock value; ODAC writes `1` (held, owner unknown), anything else unknown is treated the same. */
export function toLeaseRecord(key: string, value: Json, ttlLeftMs: number | null): LeaseRecord {
  if (value && typeof value === 'object' && !Array.isArray(value) && typeof value.token === 'string') {
    return {
      key,
      token: value.token,
      host: typeof value.host === 'string' ? value.host : null,
      pid: typeof value.pid === 'number' ? value.pid : null,
      acquiredAt: typeof value.acquiredAt === 'number' ? value.acquiredAt : null,
      fence: typeof value.fence === 'number' ? value.fence : null,
      ttlLeftMs,
      legacy: false,
    }
  }
  return {key, token: null, host: null, pid: null, acquiredAt: null, fence: null, ttlLeftMs, legacy: true}
}
