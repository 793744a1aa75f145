import type {Json, Lease, LeaseRecord, ScanPage, StepHost, UnlockResult} from './types.js'

/** Who asks for a lease. */
export interface LeaseClaim {
  token: string
  host: string
  pid: number
  ttlMs: number
}

/**
 * What a driver implements. Arguments arrive validated by the facade (`IpcClient`); a driver only
 * stores and fetches, and throws typed errors for wrong types and unreachable services.
 */
export interface IpcDriver {
  readonly driver: 'memory' | 'redis'
  readonly address: string

  set(key: string, value: Json, ttlMs: number): Promise<void>
  get(key: string): Promise<Json | null>
  del(keys: string[]): Promise<number>
  incrBy(key: string, delta: number): Promise<number>
  hset(key: string, fields: Record<string, Json>): Promise<number>
  hdel(key: string, fields: string[]): Promise<number>
  hlen(key: string): Promise<number>
  type(key: string): Promise<string>
  hgetall(key: string): Promise<Record<string, Json> | null>
  rpush(key: string, items: Json[]): Promise<number>
  lrange(key: string, start: number, stop: number): Promise<Json[]>
  llen(key: string): Promise<number>
  ltrim(key: string, start: number, stop: number): Promise<void>
  lrangeAndDel(key: string): Promise<Json[]>
  sadd(key: string, members: string[]): Promise<number>
  smembers(key: string): Promise<string[]>
  srem(key: string, members: string[]): Promise<number>
  scard(key: string): Promise<number>
  scan(pattern: string, cursor: string, count: number): Promise<ScanPage<string>>
  sscan(key: string, cursor: string, count: number): Promise<ScanPage<string>>

  lock(key: string, claim: LeaseClaim): Promise<Lease | null>
  renew(key: string, token: string, ttlMs: number): Promise<boolean>
  unlock(key: string, token: string): Promise<UnlockResult>
  inspectLock(key: string): Promise<LeaseRecord | null>

  publish(channel: string, message: Json): Promise<number>
  /** One listener per channel; the facade fans out to handlers. */
  listen(channel: string, listener: (message: Json) => void): Promise<void>
  unlisten(channel: string): Promise<void>

  checkpoint(out?: string): Promise<{path: string; counters: number; updates: number; queues: number; inflight: number}>

  /** Where a layer above runs its own atomic steps. */
  readonly stepHost: StepHost

  close(): Promise<void>
}

/** The fence counter of a lock lives beside it and only ever grows. */
export const fenceKeyOf = (lockKey: string) => `${lockKey}:fence`
