// Longer than 300 lines on purpose: MemoryStore implements Redis's semantics for every type the Ipc
// offers (strings, hashes, lists, sets, leases, cursors) over one key map; one file keeps them consistent.
import {WrongType} from '../../errors.js'
import {toLease, toLeaseRecord, type StoredLease} from '../../locks/lease-record.js'
import {fenceKeyOf, type LeaseClaim} from '../driver.js'
import type {Json, Lease, LeaseRecord, ScanPage, UnlockResult} from '../types.js'
import {globToRegExp} from './glob.js'
import {SeekableMap} from './seekable-map.js'

type Entry =
  | {type: 'string'; value: Json; expireAt: number}
  | {type: 'hash'; value: Map<string, Json>; expireAt: number}
  | {type: 'list'; value: Json[]; expireAt: number}
  | {type: 'set'; value: SeekableMap<true>; expireAt: number}

type EntryOf<T extends Entry['type']> = Extract<Entry, {type: T}>

/** A key's content as take() hands it over: opaque except for its type (and a string's value). */
export type StoredEntry = {readonly type: 'string'; readonly value: Json} | {readonly type: 'hash' | 'list' | 'set'; readonly value: unknown}

/**
 * The memory driver's state. Every method is synchronous, so one call is one atomic step: the
 * primary runs requests one at a time, which is what makes claims and acks atomic on this driver.
 * Semantics follow Redis (wrong types are errors, empty collections disappear, TTLs in ms).
 */
export class MemoryStore {
  /** The crash checkpoint that claims and acks are mirrored to (memory primary with a checkpoint): a claim refuses while it is unhealthy. */
  checkpoint?: {readonly healthy: boolean; readonly path: string}
  /** Keys under `prefix` changed since `trackChanges` (the primary mirrors them to the checkpoint). */
  private changes?: {prefix: string; keys: Set<string>}
  private readonly keyspace = new SeekableMap<Entry>()
  /** Keys with a TTL → when they expire. */
  private readonly expiring = new Map<string, number>()
  private sweep?: IterableIterator<[string, number]>
  private patternCache = new Map<string, RegExp>()

  constructor(private readonly now: () => number = Date.now) {}

  get size(): number {
    return this.keyspace.size
  }

  set(key: string, value: Json, ttlMs: number): void {
    this.touch(key)
    this.write(key, {type: 'string', value, expireAt: ttlMs > 0 ? this.now() + ttlMs : 0})
  }

  get(key: string): Json | null {
    const entry = this.typed(key, 'string')
    return entry ? entry.value : null
  }

  del(keys: string[]): number {
    let removed = 0
    for (const key of keys) if (this.live(key) && this.remove(key)) removed++
    return removed
  }

  incrBy(key: string, delta: number): number {
    this.touch(key)
    const entry = this.typed(key, 'string')
    if (!entry) {
      this.write(key, {type: 'string', value: delta, expireAt: 0})
      return delta
    }
    if (typeof entry.value !== 'number') throw new WrongType(key, 'number', 'non-numeric value')
    entry.value += delta
    return entry.value
  }

  hset(key: string, fields: Record<string, Json>): number {
    this.touch(key)
    const entry = this.typed(key, 'hash') ?? this.write(key, {type: 'hash', value: new Map(), expireAt: 0})
    let added = 0
    for (const [field, value] of Object.entries(fields)) {
      if (!entry.value.has(field)) added++
      entry.value.set(field, value)
    }
    return added
  }

  hget(key: string, field: string): Json | null {
    return this.typed(key, 'hash')?.value.get(field) ?? null
  }

  hgetall(key: string): Record<string, Json> | null {
    const entry = this.typed(key, 'hash')
    return entry ? Object.fromEntries(entry.value) : null
  }

  /** HSET `field` = `value`, and `ifMissing` = `value` when that field is absent (one lookup of the key). */
  hstamp(key: string, field: string, ifMissing: string, value: Json): void {
    this.touch(key)
    const entry = this.typed(key, 'hash') ?? this.write(key, {type: 'hash', value: new Map(), expireAt: 0})
    if (!entry.value.has(ifMissing)) entry.value.set(ifMissing, value)
    entry.value.set(field, value)
  }

  hincrBy(key: string, field: string, delta: number): number {
    this.touch(key)
    const entry = this.typed(key, 'hash') ?? this.write(key, {type: 'hash', value: new Map(), expireAt: 0})
    const next = Number(entry.value.get(field) ?? 0) + delta
    entry.value.set(field, next)
    return next
  }

  hdel(key: string, fields: string[]): number {
    this.touch(key)
    const entry = this.typed(key, 'hash')
    if (!entry) return 0
    let removed = 0
    for (const field of fields) if (entry.value.delete(field)) removed++
    if (entry.value.size === 0) this.remove(key)
    return removed
  }

  hlen(key: string): number {
    return this.typed(key, 'hash')?.value.size ?? 0
  }

  type(key: string): string {
    return this.live(key)?.type ?? 'none'
  }

  /** Moves a key (any type, with its TTL) to a new name, replacing what was there; false when absent. */
  rename(from: string, to: string): boolean {
    const entry = this.live(from)
    if (!entry) return false
    this.remove(from)
    this.remove(to)
    this.write(to, entry)
    return true
  }

  /** Removes a key and returns what it held (type and value), or undefined when absent. */
  take(key: string): StoredEntry | undefined {
    const entry = this.live(key)
    if (entry) this.remove(key)
    return entry
  }

  /** Puts back what take() returned, under a name (replacing what was there). */
  put(key: string, entry: StoredEntry): void {
    this.touch(key)
    this.write(key, entry as Entry)
  }

  /** INCRBYFLOAT on a number that exists; nothing when the key is absent (one lookup). */
  incrIfExists(key: string, delta: number): void {
    this.touch(key)
    const entry = this.live(key)
    if (!entry) return
    if (entry.type !== 'string' || typeof entry.value !== 'number') throw new WrongType(key, 'number', entry.type === 'string' ? 'non-numeric value' : entry.type)
    entry.value += delta
  }

  exists(key: string): boolean {
    return this.live(key) !== undefined
  }

  /** Removes and returns up to `count` items from the head of a list. */
  lpop(key: string, count: number): Json[] {
    this.touch(key)
    const entry = this.typed(key, 'list')
    if (!entry) return []
    const items = entry.value.splice(0, count)
    if (entry.value.length === 0) this.remove(key)
    return items
  }

  /** Replaces `count` items at `start` with `items`; returns how many fewer items the list has. */
  lsplice(key: string, start: number, count: number, items: Json[]): number {
    this.touch(key)
    const entry = this.typed(key, 'list')
    if (!entry) return 0
    entry.value.splice(start, count, ...items)
    if (entry.value.length === 0) this.remove(key)
    return count - items.length
  }

  rpush(key: string, items: Json[]): number {
    this.touch(key)
    const entry = this.typed(key, 'list') ?? this.write(key, {type: 'list', value: [], expireAt: 0})
    for (const item of items) entry.value.push(item)
    return entry.value.length
  }

  lrange(key: string, start: number, stop: number): Json[] {
    const entry = this.typed(key, 'list')
    if (!entry) return []
    const len = entry.value.length
    const from = Math.max(0, start < 0 ? len + start : start)
    const to = Math.min(len - 1, stop < 0 ? len + stop : stop)
    return from > to ? [] : entry.value.slice(from, to + 1)
  }

  ltrim(key: string, start: number, stop: number): void {
    this.touch(key)
    const entry = this.typed(key, 'list')
    if (!entry) return
    const kept = this.lrange(key, start, stop)
    if (kept.length === 0) this.remove(key)
    else entry.value = kept
  }

  llen(key: string): number {
    return this.typed(key, 'list')?.value.length ?? 0
  }

  lrangeAndDel(key: string): Json[] {
    const entry = this.typed(key, 'list')
    if (!entry) return []
    this.remove(key)
    return entry.value
  }

  sadd(key: string, members: string[]): number {
    this.touch(key)
    const entry = this.typed(key, 'set') ?? this.write(key, {type: 'set', value: new SeekableMap<true>(), expireAt: 0})
    let added = 0
    for (const member of members) {
      if (!entry.value.has(member)) {
        entry.value.set(member, true)
        added++
      }
    }
    return added
  }

  smembers(key: string): string[] {
    const entry = this.typed(key, 'set')
    return entry ? [...entry.value.keys()] : []
  }

  srem(key: string, members: string[]): number {
    this.touch(key)
    const entry = this.typed(key, 'set')
    if (!entry) return 0
    let removed = 0
    for (const member of members) if (entry.value.delete(member)) removed++
    if (entry.value.size === 0) this.remove(key)
    return removed
  }

  scard(key: string): number {
    return this.typed(key, 'set')?.value.size ?? 0
  }

  scan(pattern: string, cursor: string, count: number): ScanPage<string> {
    const regex = this.pattern(pattern)
    const now = this.now()
    const page = this.keyspace.page(Number(cursor), count, (key, entry) => !(entry.expireAt && entry.expireAt <= now) && regex.test(key))
    return {cursor: String(page.cursor), items: page.keys}
  }

  sscan(key: string, cursor: string, count: number): ScanPage<string> {
    const entry = this.typed(key, 'set')
    if (!entry) return {cursor: '0', items: []}
    const page = entry.value.page(Number(cursor), count, () => true)
    return {cursor: String(page.cursor), items: page.keys}
  }

  lock(key: string, claim: LeaseClaim): Lease | null {
    if (this.live(key)) return null
    const fence = this.incrBy(fenceKeyOf(key), 1)
    const stored: StoredLease = {token: claim.token, host: claim.host, pid: claim.pid, acquiredAt: this.now(), fence, ttlMs: claim.ttlMs}
    this.set(key, stored as unknown as Json, claim.ttlMs)
    return toLease(key, stored)
  }

  renew(key: string, token: string, ttlMs: number): boolean {
    this.touch(key)
    const entry = this.typed(key, 'string')
    const value = entry?.value as unknown as StoredLease | undefined
    if (!entry || !value || typeof value !== 'object' || value.token !== token) return false
    entry.value = {...value, ttlMs} as unknown as Json
    this.expireAt(key, entry, this.now() + ttlMs)
    return true
  }

  unlock(key: string, token: string): UnlockResult {
    const holder = this.inspectLock(key)
    if (!holder) return {released: false, reason: 'not-held'}
    if (holder.token !== token) return {released: false, reason: 'not-owner', holder}
    this.remove(key)
    return {released: true}
  }

  inspectLock(key: string): LeaseRecord | null {
    const entry = this.live(key)
    if (!entry) return null
    if (entry.type !== 'string') throw new WrongType(key, 'lock', entry.type)
    return toLeaseRecord(key, entry.value, entry.expireAt ? Math.max(0, entry.expireAt - this.now()) : null)
  }

  /** From now on, remember which keys starting with `prefix` change (until `takeChanges`). */
  trackChanges(prefix: string): void {
    this.changes = {prefix, keys: new Set()}
  }

  /** The keys changed since `trackChanges`; stops tracking. */
  takeChanges(): Set<string> | undefined {
    const keys = this.changes?.keys
    this.changes = undefined
    return keys
  }

  /** Live keys starting with `prefix` (for checkpoints). */
  *keysWithPrefix(prefix: string): Generator<string> {
    const now = this.now()
    for (const [key, {value: entry}] of this.keyspace.entries()) {
      if (key.startsWith(prefix) && !(entry.expireAt && entry.expireAt <= now)) yield key
    }
  }

  /** A key's type and a copy of its content (hash → object, list and set → array), or undefined when absent. */
  dump(key: string): {type: Entry['type']; value: Json} | undefined {
    const entry = this.live(key)
    if (!entry) return undefined
    if (entry.type === 'string') return {type: 'string', value: entry.value}
    if (entry.type === 'hash') return {type: 'hash', value: Object.fromEntries(entry.value)}
    if (entry.type === 'list') return {type: 'list', value: [...entry.value]}
    return {type: 'set', value: [...entry.value.keys()]}
  }

  /** A number stored at `key`, or null (absent, or not a number); never throws. */
  peekNumber(key: string): number | null {
    const entry = this.live(key)
    return entry?.type === 'string' && typeof entry.value === 'number' ? entry.value : null
  }

  /**
   * Drops expired keys, looking at most `budget` keys with a TTL per call and carrying on from
   * there next time; the primary calls it periodically (reads also drop expired keys lazily).
   */
  sweepExpired(budget = 2000): number {
    const now = this.now()
    let swept = 0
    this.sweep ??= this.expiring.entries()
    for (let i = 0; i < budget; i++) {
      const next = this.sweep.next()
      if (next.done) {
        this.sweep = undefined
        break
      }
      const [key, at] = next.value
      if (at <= now && this.remove(key)) swept++
    }
    return swept
  }

  private touch(key: string): void {
    if (this.changes !== undefined && key.startsWith(this.changes.prefix)) this.changes.keys.add(key)
  }

  private live(key: string): Entry | undefined {
    const entry = this.keyspace.get(key)
    if (entry && entry.expireAt && entry.expireAt <= this.now()) {
      this.remove(key)
      return undefined
    }
    return entry
  }

  private typed<T extends Entry['type']>(key: string, type: T): EntryOf<T> | undefined {
    const entry = this.live(key)
    if (!entry) return undefined
    if (entry.type !== type) throw new WrongType(key, type, entry.type)
    return entry as EntryOf<T>
  }

  private write<E extends Entry>(key: string, entry: E): E {
    this.touch(key)
    this.keyspace.set(key, entry)
    this.expireAt(key, entry, entry.expireAt)
    return entry
  }

  private expireAt(key: string, entry: Entry, at: number): void {
    entry.expireAt = at
    if (at) this.expiring.set(key, at)
    else if (this.expiring.size > 0) this.expiring.delete(key)
  }

  private remove(key: string): boolean {
    this.touch(key)
    if (this.expiring.size > 0) this.expiring.delete(key)
    return this.keyspace.delete(key)
  }

  private pattern(pattern: string): RegExp {
    let regex = this.patternCache.get(pattern)
    if (!regex) {
      if (this.patternCache.size > 64) this.patternCache = new Map()
      regex = globToRegExp(pattern)
      this.patternCache.set(pattern, regex)
    }
    return regex
  }
}
