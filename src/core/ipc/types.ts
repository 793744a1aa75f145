/** JSON values: what every Ipc value, hash field, list item and message is. */
export type Json = null | boolean | number | string | Json[] | {[key: string]: Json}

/** A lease as its holder sees it: the token proves ownership, the fence orders holders. */
export interface Lease {
  key: string
  token: string
  fence: number
  host: string
  pid: number
  acquiredAt: number
  ttlMs: number
}

/** A lease as anyone sees it when reading the lock key. */
export interface LeaseRecord {
  key: string
  /** null for a lock written by ODAC (value `1`): held, owner unknown. */
  token: string | null
  host: string | null
  pid: number | null
  acquiredAt: number | null
  fence: number | null
  /** Milliseconds until the lease expires; null when it never expires. */
  ttlLeftMs: number | null
  legacy: boolean
}

export type UnlockResult = {released: true} | {released: false; reason: 'not-held'} | {released: false; reason: 'not-owner'; holder: LeaseRecord | null}

export interface ScanPage<T> {
  /** '0' when the iteration is complete, as in Redis. */
  cursor: string
  items: T[]
}

export type MessageHandler = (message: Json, channel: string) => void

/**
 * The shared state store: the ODAC method set plus leases with owners and fences, and cursors.
 * Both drivers (memory, redis) behave the same through it.
 */
export interface Ipc {
  readonly driver: 'memory' | 'redis'
  /** Where the state lives, safe to show (passwords masked). */
  readonly address: string

  set(key: string, value: Json, ttlSeconds?: number): Promise<void>
  get<T extends Json = Json>(key: string): Promise<T | null>
  del(...keys: string[]): Promise<number>
  incrBy(key: string, delta: number): Promise<number>
  decrBy(key: string, delta: number): Promise<number>
  /** Merges the fields into the hash; returns how many fields were new. */
  hset(key: string, fields: Record<string, Json>): Promise<number>
  /** Removes fields from a hash; returns how many existed. */
  hdel(key: string, ...fields: string[]): Promise<number>
  hlen(key: string): Promise<number>
  /** 'string' | 'hash' | 'list' | 'set' | 'none', as Redis TYPE. */
  type(key: string): Promise<string>
  /** null when the hash does not exist. */
  hgetall<T extends Json = Json>(key: string): Promise<Record<string, T> | null>
  rpush(key: string, ...items: Json[]): Promise<number>
  lrange<T extends Json = Json>(key: string, start: number, stop: number): Promise<T[]>
  llen(key: string): Promise<number>
  /** Keeps only the items from start to stop (inclusive, negative from the end), as Redis LTRIM. */
  ltrim(key: string, start: number, stop: number): Promise<void>
  /** Atomically returns the whole list and deletes it. */
  lrangeAndDel<T extends Json = Json>(key: string): Promise<T[]>
  sadd(key: string, ...members: string[]): Promise<number>
  smembers(key: string): Promise<string[]>
  srem(key: string, ...members: string[]): Promise<number>
  scard(key: string): Promise<number>
  /** Keys matching a Redis glob, a bounded page at a time. Start and end with cursor '0'. */
  scan(pattern: string, cursor: string, count: number): Promise<ScanPage<string>>
  sscan(key: string, cursor: string, count: number): Promise<ScanPage<string>>

  /** Takes the lease if it is free or expired; null when someone else holds it. */
  lock(key: string, ttlSeconds: number): Promise<Lease | null>
  /** Extends a lease this holder still owns; false when it was lost. */
  renew(lease: Lease, ttlSeconds: number): Promise<boolean>
  /** Releases a lease taken through this Ipc (or proven by token); anyone else's stays. */
  unlock(key: string, token?: string): Promise<UnlockResult>
  inspectLock(key: string): Promise<LeaseRecord | null>

  publish(channel: string, message: Json): Promise<number>
  subscribe(channel: string, handler: MessageHandler): Promise<void>
  unsubscribe(channel: string, handler?: MessageHandler): Promise<void>

  /**
   * Memory driver: has the primary write its checkpoint now, or (with `out`) export its whole state
   * to a new checkpoint file. The redis driver has nothing to checkpoint and says so.
   */
  checkpoint(out?: string): Promise<{path: string; counters: number; updates: number; queues: number; inflight: number}>

  /** Where a layer above runs its own atomic steps (the write buffer's: src/core/buffer/steps). */
  readonly stepHost: StepHost

  close(): Promise<void>
}

/**
 * The narrow hook through which a layer above runs its own atomic steps on this store; the Ipc
 * itself knows nothing of what they do. Redis runs Lua scripts the layer defines by name; the
 * memory driver sends a request to its primary, which runs the step function registered under
 * that name (see memory/step-registry.ts).
 */
export type StepHost = {readonly driver: 'redis'; readonly scripts: ScriptHost} | {readonly driver: 'memory'; call(name: string, args: unknown[], options?: {timed?: boolean}): Promise<unknown>}

/** Named Lua scripts on one Redis connection. */
export interface ScriptHost {
  /** Loads a script under a name (kept for the connection; defining a name again changes nothing). */
  define(name: string, numberOfKeys: number, lua: string): void
  /** Runs a defined script (KEYS then ARGV in `args`); Redis errors become typed ones naming `key` (and the type expected there). */
  run<T>(name: string, args: Array<string | number>, key: string, expected?: string): Promise<T>
  /** The typed error for an error message a script returned inside its reply (see `run`). */
  error(key: string, message: string, expected?: string): Promise<Error>
}
