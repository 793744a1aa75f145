import {randomUUID} from 'node:crypto'

import {RequestTimeout, ServiceUnavailable} from '../../errors.js'
import type {IpcDriver, LeaseClaim} from '../driver.js'
import type {Json, Lease, LeaseRecord, ScanPage, UnlockResult} from '../types.js'
import type {Channel} from './channels.js'
import {reviveError, type ClientMessage, type PrimaryMessage, type StoreOp} from './protocol.js'

interface Pending {
  resolve: (value: unknown) => void
  reject: (error: Error) => void
  timer?: NodeJS.Timeout
  op: string
}

/**
 * The memory driver as seen by a client: every call is one request that the primary answers in
 * one atomic step. A request that gets no answer in time fails; it is never sent twice.
 */
export class MemoryDriver implements IpcDriver {
  readonly driver = 'memory' as const
  private readonly cid = randomUUID()
  private readonly pending = new Map<number, Pending>()
  private readonly listeners = new Map<string, (message: Json) => void>()
  private nextId = 1
  private closed = false

  constructor(
    private readonly channel: Channel,
    private readonly timeoutMs: number,
    private readonly onClose?: () => Promise<void>,
  ) {
    channel.onMessage((msg) => this.receive(msg))
    channel.onClose((reason, error) => this.failAll(error ?? new ServiceUnavailable('the memory primary', channel.address, reason)))
  }

  get address() {
    return this.channel.address
  }

  set(key: string, value: Json, ttlMs: number) {
    return this.call<void>('set', key, value, ttlMs)
  }
  get(key: string) {
    return this.call<Json | null>('get', key)
  }
  del(keys: string[]) {
    return this.call<number>('del', keys)
  }
  incrBy(key: string, delta: number) {
    return this.call<number>('incrBy', key, delta)
  }
  hset(key: string, fields: Record<string, Json>) {
    return this.call<number>('hset', key, fields)
  }
  hdel(key: string, fields: string[]) {
    return this.call<number>('hdel', key, fields)
  }
  hlen(key: string) {
    return this.call<number>('hlen', key)
  }
  type(key: string) {
    return this.call<string>('type', key)
  }
  hgetall(key: string) {
    return this.call<Record<string, Json> | null>('hgetall', key)
  }
  rpush(key: string, items: Json[]) {
    return this.call<number>('rpush', key, items)
  }
  lrange(key: string, start: number, stop: number) {
    return this.call<Json[]>('lrange', key, start, stop)
  }
  ltrim(key: string, start: number, stop: number) {
    return this.call<void>('ltrim', key, start, stop)
  }
  llen(key: string) {
    return this.call<number>('llen', key)
  }
  lrangeAndDel(key: string) {
    return this.call<Json[]>('lrangeAndDel', key)
  }
  sadd(key: string, members: string[]) {
    return this.call<number>('sadd', key, members)
  }
  smembers(key: string) {
    return this.call<string[]>('smembers', key)
  }
  srem(key: string, members: string[]) {
    return this.call<number>('srem', key, members)
  }
  scard(key: string) {
    return this.call<number>('scard', key)
  }
  scan(pattern: string, cursor: string, count: number) {
    return this.call<ScanPage<string>>('scan', pattern, cursor, count)
  }
  sscan(key: string, cursor: string, count: number) {
    return this.call<ScanPage<string>>('sscan', key, cursor, count)
  }
  lock(key: string, claim: LeaseClaim) {
    return this.call<Lease | null>('lock', key, claim)
  }
  renew(key: string, token: string, ttlMs: number) {
    return this.call<boolean>('renew', key, token, ttlMs)
  }
  unlock(key: string, token: string) {
    return this.call<UnlockResult>('unlock', key, token)
  }
  inspectLock(key: string) {
    return this.call<LeaseRecord | null>('inspectLock', key)
  }
  checkpoint(out?: string) {
    return this.call<{path: string; counters: number; updates: number; queues: number; inflight: number}>('checkpoint', out ?? null)
  }
  publish(channel: string, message: Json) {
    return this.call<number>('publish', channel, message)
  }

  /** Steps of the layers above: one request each, run by the function the primary registered under `name`. */
  readonly stepHost = {
    driver: 'memory' as const,
    call: (name: string, args: unknown[], options: {timed?: boolean} = {}) => this.request({wbc: 1, kind: 'req', cid: this.cid, id: this.nextId++, op: name, args}, options.timed === true),
  }

  async listen(channel: string, listener: (message: Json) => void): Promise<void> {
    this.listeners.set(channel, listener)
    try {
      await this.request({wbc: 1, kind: 'listen', cid: this.cid, id: this.nextId++, channel})
    } catch (error) {
      this.listeners.delete(channel)
      throw error
    }
  }

  async unlisten(channel: string): Promise<void> {
    this.listeners.delete(channel)
    await this.request({wbc: 1, kind: 'unlisten', cid: this.cid, id: this.nextId++, channel})
  }

  async close(): Promise<void> {
    if (this.closed) return
    this.closed = true
    this.failAll(new ServiceUnavailable('the memory primary', this.channel.address, 'the client was closed'))
    await this.channel.close()
    await this.onClose?.()
  }

  private call<T>(op: StoreOp | 'publish' | 'checkpoint', ...args: unknown[]): Promise<T> {
    return this.request({wbc: 1, kind: 'req', cid: this.cid, id: this.nextId++, op, args}) as Promise<T>
  }

  /** `timed`: a request that may wait in this process too (for the checkpoint) gets the timeout as well. */
  private request(msg: ClientMessage, timed = false): Promise<unknown> {
    if (this.closed) return Promise.reject(new ServiceUnavailable('the memory primary', this.channel.address, 'the client was closed'))
    return new Promise((resolve, reject) => {
      const op = msg.kind === 'req' ? msg.op : msg.kind
      const entry: Pending = {resolve, reject, op}
      this.pending.set(msg.id, entry)
      // In this process only checkpoints and steps said to be timed (a claim: durable in the
      // checkpoint first) can stall.
      if (!this.channel.inProcess || timed || op === 'checkpoint') {
        entry.timer = setTimeout(() => {
          this.pending.delete(msg.id)
          reject(new RequestTimeout(op, this.channel.address, this.timeoutMs))
        }, this.timeoutMs)
        entry.timer.unref?.()
      }
      try {
        this.channel.send(msg)
      } catch (error) {
        clearTimeout(entry.timer)
        this.pending.delete(msg.id)
        reject(error as Error)
      }
    })
  }

  private receive(msg: PrimaryMessage): void {
    if (msg.kind === 'msg') {
      if (msg.cid === this.cid) this.listeners.get(msg.channel)?.(msg.message)
      return
    }
    if (msg.kind !== 'res' || msg.cid !== this.cid) return
    const entry = this.pending.get(msg.id)
    if (!entry) return // Answered after its timeout: the caller already has an error.
    this.pending.delete(msg.id)
    clearTimeout(entry.timer)
    if (msg.ok) entry.resolve(msg.result)
    else entry.reject(reviveError(msg.error))
  }

  private failAll(error: Error): void {
    for (const [id, entry] of this.pending) {
      clearTimeout(entry.timer)
      this.pending.delete(id)
      entry.reject(error)
    }
  }
}
