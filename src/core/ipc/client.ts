import {randomUUID} from 'node:crypto'
import {hostname} from 'node:os'

import type {IpcDriver} from './driver.js'
import type {Ipc, Json, Lease, LeaseRecord, MessageHandler, ScanPage, UnlockResult} from './types.js'
import {assertCursor, assertFields, assertFiniteNumber, assertInteger, assertJson, assertKey, assertNonEmpty, assertStrings, ttlToMs} from './validate.js'

const MAX_SCAN_COUNT = 100_000

/**
 * The Ipc every caller uses: validates arguments (so a rejected call stores nothing), remembers the
 * tokens of the leases it took, fans pub/sub messages out to handlers, and delegates to a driver.
 */
export class IpcClient implements Ipc {
  private readonly tokens = new Map<string, string>()
  private readonly handlers = new Map<string, Set<MessageHandler>>()

  constructor(private readonly impl: IpcDriver) {}

  get driver() {
    return this.impl.driver
  }

  get address() {
    return this.impl.address
  }

  get stepHost() {
    return this.impl.stepHost
  }

  async set(key: string, value: Json, ttlSeconds?: number): Promise<void> {
    assertKey(key)
    assertJson(value, 'value')
    await this.impl.set(key, value, ttlToMs(ttlSeconds))
  }

  async get<T extends Json = Json>(key: string): Promise<T | null> {
    assertKey(key)
    return (await this.impl.get(key)) as T | null
  }

  async del(...keys: string[]): Promise<number> {
    assertNonEmpty(keys, 'keys')
    keys.forEach((key, i) => assertKey(key, `keys[${i}]`))
    return this.impl.del(keys)
  }

  async incrBy(key: string, delta: number): Promise<number> {
    assertKey(key)
    assertFiniteNumber(delta, 'delta')
    return this.impl.incrBy(key, delta)
  }

  async decrBy(key: string, delta: number): Promise<number> {
    assertKey(key)
    assertFiniteNumber(delta, 'delta')
    return this.impl.incrBy(key, -delta)
  }

  async hset(key: string, fields: Record<string, Json>): Promise<number> {
    assertKey(key)
    assertFields(fields)
    return this.impl.hset(key, fields)
  }

  async hdel(key: string, ...fields: string[]): Promise<number> {
    assertKey(key)
    assertStrings(fields, 'fields')
    return this.impl.hdel(key, fields)
  }

  async hlen(key: string): Promise<number> {
    assertKey(key)
    return this.impl.hlen(key)
  }

  async type(key: string): Promise<string> {
    assertKey(key)
    return this.impl.type(key)
  }

  async hgetall<T extends Json = Json>(key: string): Promise<Record<string, T> | null> {
    assertKey(key)
    return (await this.impl.hgetall(key)) as Record<string, T> | null
  }

  async rpush(key: string, ...items: Json[]): Promise<number> {
    assertKey(key)
    assertNonEmpty(items, 'items')
    items.forEach((item, i) => assertJson(item, `items[${i}]`))
    return this.impl.rpush(key, items)
  }

  async lrange<T extends Json = Json>(key: string, start: number, stop: number): Promise<T[]> {
    assertKey(key)
    assertInteger(start, 'start')
    assertInteger(stop, 'stop')
    return (await this.impl.lrange(key, start, stop)) as T[]
  }

  async llen(key: string): Promise<number> {
    assertKey(key)
    return this.impl.llen(key)
  }

  async ltrim(key: string, start: number, stop: number): Promise<void> {
    assertKey(key)
    assertInteger(start, 'start')
    assertInteger(stop, 'stop')
    await this.impl.ltrim(key, start, stop)
  }

  async lrangeAndDel<T extends Json = Json>(key: string): Promise<T[]> {
    assertKey(key)
    return (await this.impl.lrangeAndDel(key)) as T[]
  }

  async sadd(key: string, ...members: string[]): Promise<number> {
    assertKey(key)
    assertStrings(members, 'members')
    return this.impl.sadd(key, members)
  }

  async smembers(key: string): Promise<string[]> {
    assertKey(key)
    return this.impl.smembers(key)
  }

  async srem(key: string, ...members: string[]): Promise<number> {
    assertKey(key)
    assertStrings(members, 'members')
    return this.impl.srem(key, members)
  }

  async scard(key: string): Promise<number> {
    assertKey(key)
    return this.impl.scard(key)
  }

  async scan(pattern: string, cursor: string, count: number): Promise<ScanPage<string>> {
    assertKey(pattern, 'pattern')
    assertCursor(cursor)
    assertInteger(count, 'count', 1)
    return this.impl.scan(pattern, cursor, Math.min(count, MAX_SCAN_COUNT))
  }

  async sscan(key: string, cursor: string, count: number): Promise<ScanPage<string>> {
    assertKey(key)
    assertCursor(cursor)
    assertInteger(count, 'count', 1)
    return this.impl.sscan(key, cursor, Math.min(count, MAX_SCAN_COUNT))
  }

  async lock(key: string, ttlSeconds: number): Promise<Lease | null> {
    assertKey(key)
    const ttlMs = ttlToMs(ttlSeconds, 'ttlSeconds', true)
    const lease = await this.impl.lock(key, {token: randomUUID(), host: hostname(), pid: process.pid, ttlMs})
    if (lease) this.tokens.set(key, lease.token)
    return lease
  }

  async renew(lease: Lease, ttlSeconds: number): Promise<boolean> {
    assertKey(lease?.key, 'lease.key')
    assertKey(lease.token, 'lease.token')
    return this.impl.renew(lease.key, lease.token, ttlToMs(ttlSeconds, 'ttlSeconds', true))
  }

  async unlock(key: string, token?: string): Promise<UnlockResult> {
    assertKey(key)
    const own = token ?? this.tokens.get(key)
    if (own === undefined) {
      // We never took it: say who holds it instead of deleting someone else's lease.
      const holder = await this.impl.inspectLock(key)
      return holder ? {released: false, reason: 'not-owner', holder} : {released: false, reason: 'not-held'}
    }
    const result = await this.impl.unlock(key, own)
    if (this.tokens.get(key) === own) this.tokens.delete(key)
    return result
  }

  async inspectLock(key: string): Promise<LeaseRecord | null> {
    assertKey(key)
    return this.impl.inspectLock(key)
  }

  checkpoint(out?: string) {
    if (out !== undefined) assertKey(out, 'out')
    return this.impl.checkpoint(out)
  }

  async publish(channel: string, message: Json): Promise<number> {
    assertKey(channel, 'channel')
    assertJson(message, 'message')
    return this.impl.publish(channel, message)
  }

  async subscribe(channel: string, handler: MessageHandler): Promise<void> {
    assertKey(channel, 'channel')
    if (typeof handler !== 'function') throw new TypeError('subscribe: handler must be a function')
    let set = this.handlers.get(channel)
    if (!set) {
      set = new Set()
      this.handlers.set(channel, set)
      const handlers = set
      try {
        await this.impl.listen(channel, (message) => {
          for (const h of handlers) h(message, channel)
        })
      } catch (error) {
        this.handlers.delete(channel)
        throw error
      }
    }
    set.add(handler)
  }

  async unsubscribe(channel: string, handler?: MessageHandler): Promise<void> {
    assertKey(channel, 'channel')
    const set = this.handlers.get(channel)
    if (!set) return
    if (handler) set.delete(handler)
    else set.clear()
    if (set.size === 0) {
      this.handlers.delete(channel)
      await this.impl.unlisten(channel)
    }
  }

  async close(): Promise<void> {
    this.handlers.clear()
    await this.impl.close()
  }
}
