// Longer than 300 lines on purpose: one method per Ipc operation, each a thin mapping onto a Redis
// command with its error translation; splitting the class would scatter one interface over files.
import {readFileSync} from 'node:fs'

import {Redis, type RedisOptions} from './ioredis.js'

import {maskText} from '../../config/mask.js'
import {AuthenticationFailed, CorruptValue, ExitCode, InvalidArgument, ServiceUnavailable, WbcError, WrongType} from '../../errors.js'
import {toLease, toLeaseRecord, type StoredLease} from '../../locks/lease-record.js'
import {fenceKeyOf, type IpcDriver, type LeaseClaim} from '../driver.js'
import type {Json, Lease, LeaseRecord, ScanPage, UnlockResult} from '../types.js'

const read = (name: string) => readFileSync(new URL(`./${name}.lua`, import.meta.url), 'utf8')

/** The store's own Lua (leases, an atomic read-and-delete), loaded once per connection. */
const SCRIPTS = {
  wbcLock: {numberOfKeys: 2, lua: read('lock')},
  wbcRenew: {numberOfKeys: 1, lua: read('renew')},
  wbcUnlock: {numberOfKeys: 1, lua: read('unlock')},
  wbcLrangeAndDel: {numberOfKeys: 1, lua: read('lrange-and-del')},
}

interface ScriptCommands {
  wbcLock(lockKey: string, fenceKey: string, token: string, host: string, pid: number, ttlMs: number): Promise<string | null>
  wbcRenew(lockKey: string, token: string, ttlMs: number): Promise<number>
  wbcUnlock(lockKey: string, token: string): Promise<[number, string?, number?]>
  wbcLrangeAndDel(listKey: string): Promise<string[]>
}

export type RedisTarget = string | (RedisOptions & Record<string, unknown>)

export interface RedisDriverOptions {
  connectTimeoutMs: number
  commandTimeoutMs: number
}

export function describeRedis(target: RedisTarget): string {
  if (typeof target === 'string') return maskText(target)
  if (target.path) return `unix:${String(target.path)}`
  const auth = target.password ? `${target.username ?? ''}:***@` : ''
  return `${target.tls ? 'rediss' : 'redis'}://${auth}${target.host ?? '127.0.0.1'}:${target.port ?? 6379}${target.db ? `/${target.db}` : ''}`
}

/** Values are stored as ODAC stores them: JSON strings, INCRBYFLOAT numbers, JSON per field and item. */
export class RedisDriver implements IpcDriver {
  readonly driver = 'redis' as const
  private subscriber?: Redis
  private readonly listeners = new Map<string, (message: Json) => void>()

  /** Script names defined on this connection (by define, for the layers above). */
  private readonly defined = new Set<string>()

  private constructor(
    private readonly redis: Redis & ScriptCommands,
    readonly address: string,
    private readonly options: RedisDriverOptions,
  ) {}

  static async connect(target: RedisTarget, options: RedisDriverOptions): Promise<RedisDriver> {
    const address = describeRedis(target)
    const redisOptions: RedisOptions = {
      lazyConnect: true,
      connectTimeout: options.connectTimeoutMs,
      commandTimeout: options.commandTimeoutMs,
      // Fail a command in bounded time while Redis is away instead of queueing it forever.
      maxRetriesPerRequest: 1,
      // A command whose reply was lost with its connection may have run: sent again it could run
      // twice (an increment counted twice, a claim taking newer deltas under the same batch id).
      // It fails instead, as a service that went away (the caller retries what is safe to retry).
      autoResendUnfulfilledCommands: false,
      retryStrategy: (times) => Math.min(50 * 2 ** times, 2000),
    }
    const redis = (typeof target === 'string' ? new Redis(target, redisOptions) : new Redis({...target, ...redisOptions})) as Redis & ScriptCommands
    for (const [name, script] of Object.entries(SCRIPTS)) redis.defineCommand(name, script)
    // While connecting, ioredis reports the real cause (WRONGPASS, a TLS failure) here and rejects with "Connection is closed".
    let cause: unknown
    redis.on('error', (error: unknown) => {
      cause = error
      // Reported through the failing command; without a listener ioredis would log to stderr.
    })
    let timer: NodeJS.Timeout | undefined
    try {
      await Promise.race([
        redis.connect(),
        new Promise((_resolve, reject) => {
          timer = setTimeout(() => reject(new Error(`no connection within ${options.connectTimeoutMs} ms`)), options.connectTimeoutMs)
        }),
      ])
    } catch (error) {
      redis.disconnect()
      throw connectError(address, error, cause)
    } finally {
      clearTimeout(timer)
    }
    return new RedisDriver(redis, address, options)
  }

  async set(key: string, value: Json, ttlMs: number): Promise<void> {
    const encoded = JSON.stringify(value)
    await this.run(key, () => (ttlMs > 0 ? this.redis.set(key, encoded, 'PX', ttlMs) : this.redis.set(key, encoded)))
  }

  async get(key: string): Promise<Json | null> {
    const raw = await this.run(key, () => this.redis.get(key), 'string')
    return raw === null ? null : decode(key, raw)
  }

  async del(keys: string[]): Promise<number> {
    return this.run(keys[0], () => this.redis.del(...keys))
  }

  async incrBy(key: string, delta: number): Promise<number> {
    return Number(await this.run(key, () => this.redis.incrbyfloat(key, delta), 'number'))
  }

  async hset(key: string, fields: Record<string, Json>): Promise<number> {
    const encoded: Record<string, string> = {}
    for (const [field, value] of Object.entries(fields)) encoded[field] = JSON.stringify(value)
    return this.run(key, () => this.redis.hset(key, encoded), 'hash')
  }

  async hdel(key: string, fields: string[]): Promise<number> {
    return this.run(key, () => this.redis.hdel(key, ...fields), 'hash')
  }

  async hlen(key: string): Promise<number> {
    return this.run(key, () => this.redis.hlen(key), 'hash')
  }

  async type(key: string): Promise<string> {
    return this.run(key, () => this.redis.type(key))
  }

  async hgetall(key: string): Promise<Record<string, Json> | null> {
    const raw = await this.run(key, () => this.redis.hgetall(key), 'hash')
    const fields = Object.entries(raw)
    if (fields.length === 0) return null
    return Object.fromEntries(fields.map(([field, value]) => [field, decode(`${key} (field ${field})`, value)]))
  }

  async rpush(key: string, items: Json[]): Promise<number> {
    return this.run(key, () => this.redis.rpush(key, ...items.map((item) => JSON.stringify(item))), 'list')
  }

  async lrange(key: string, start: number, stop: number): Promise<Json[]> {
    const raw = await this.run(key, () => this.redis.lrange(key, start, stop), 'list')
    return raw.map((item, i) => decode(`${key}[${start + i}]`, item))
  }

  async ltrim(key: string, start: number, stop: number): Promise<void> {
    await this.run(key, () => this.redis.ltrim(key, start, stop), 'list')
  }

  async llen(key: string): Promise<number> {
    return this.run(key, () => this.redis.llen(key), 'list')
  }

  async lrangeAndDel(key: string): Promise<Json[]> {
    const raw = await this.run(key, () => this.redis.wbcLrangeAndDel(key), 'list')
    return raw.map((item, i) => decode(`${key}[${i}]`, item))
  }

  async sadd(key: string, members: string[]): Promise<number> {
    return this.run(key, () => this.redis.sadd(key, ...members), 'set')
  }

  async smembers(key: string): Promise<string[]> {
    return this.run(key, () => this.redis.smembers(key), 'set')
  }

  async srem(key: string, members: string[]): Promise<number> {
    return this.run(key, () => this.redis.srem(key, ...members), 'set')
  }

  async scard(key: string): Promise<number> {
    return this.run(key, () => this.redis.scard(key), 'set')
  }

  async scan(pattern: string, cursor: string, count: number): Promise<ScanPage<string>> {
    const [next, keys] = await this.run(pattern, () => this.redis.scan(cursor, 'MATCH', pattern, 'COUNT', count))
    return {cursor: next, items: keys}
  }

  async sscan(key: string, cursor: string, count: number): Promise<ScanPage<string>> {
    const [next, members] = await this.run(key, () => this.redis.sscan(key, cursor, 'COUNT', count), 'set')
    return {cursor: next, items: members}
  }

  async lock(key: string, claim: LeaseClaim): Promise<Lease | null> {
    const raw = await this.run(key, () => this.redis.wbcLock(key, fenceKeyOf(key), claim.token, claim.host, claim.pid, claim.ttlMs), 'lock')
    return raw ? toLease(key, JSON.parse(raw) as StoredLease) : null
  }

  async renew(key: string, token: string, ttlMs: number): Promise<boolean> {
    return (await this.run(key, () => this.redis.wbcRenew(key, token, ttlMs), 'lock')) === 1
  }

  async unlock(key: string, token: string): Promise<UnlockResult> {
    const [status, raw, pttl] = await this.run(key, () => this.redis.wbcUnlock(key, token), 'lock')
    if (status === 1) return {released: true}
    if (status === 0) return {released: false, reason: 'not-held'}
    return {released: false, reason: 'not-owner', holder: toLeaseRecord(key, tryDecode(raw ?? ''), ttlOf(pttl ?? -1))}
  }

  async inspectLock(key: string): Promise<LeaseRecord | null> {
    const results = await this.run(key, () => this.redis.multi().get(key).pttl(key).exec(), 'lock')
    const [[getError, raw], [, pttl]] = results ?? [
      [null, null],
      [null, -2],
    ]
    if (getError) throw await this.mapError(key, getError, 'lock')
    if (raw === null || raw === undefined) return null
    return toLeaseRecord(key, tryDecode(raw as string), ttlOf(pttl as number))
  }

  async checkpoint(): Promise<never> {
    throw new WbcError('NOTHING_TO_CHECKPOINT', `the redis driver keeps its state in Redis (${this.address}); wbc has no checkpoint of its own there`, {
      exitCode: ExitCode.usage,
      hint: 'Back up Redis with its own persistence (RDB snapshots or AOF).',
    })
  }

  async publish(channel: string, message: Json): Promise<number> {
    return this.run(channel, () => this.redis.publish(channel, JSON.stringify(message)))
  }

  async listen(channel: string, listener: (message: Json) => void): Promise<void> {
    if (!this.subscriber) {
      const subscriber = this.redis.duplicate()
      subscriber.on('error', () => {})
      subscriber.on('message', (from: string, raw: string) => this.listeners.get(from)?.(tryDecode(raw)))
      this.subscriber = subscriber
    }
    this.listeners.set(channel, listener)
    await this.run(channel, () => this.subscriber!.subscribe(channel))
  }

  async unlisten(channel: string): Promise<void> {
    this.listeners.delete(channel)
    if (this.subscriber) await this.run(channel, () => this.subscriber!.unsubscribe(channel))
  }

  /** Named Lua scripts for the layers above (the write buffer's steps define theirs through it). */
  readonly stepHost = {
    driver: 'redis' as const,
    scripts: {
      define: (name: string, numberOfKeys: number, lua: string) => {
        if (this.defined.has(name)) return
        this.redis.defineCommand(name, {numberOfKeys, lua})
        this.defined.add(name)
      },
      run: <T>(name: string, args: Array<string | number>, key: string, expected?: string): Promise<T> => {
        const command = (this.redis as unknown as Record<string, (...a: Array<string | number>) => Promise<T>>)[name]
        return this.run(key, () => command.apply(this.redis, args), expected)
      },
      error: (key: string, message: string, expected?: string) => this.mapError(key, new Error(message), expected),
    },
  }

  async close(): Promise<void> {
    this.listeners.clear()
    await Promise.all([quit(this.redis), this.subscriber ? quit(this.subscriber) : undefined])
  }

  /** Runs one command and turns Redis errors into typed ones. */
  private async run<T>(key: string, command: () => Promise<T>, expected?: string): Promise<T> {
    try {
      return await command()
    } catch (error) {
      throw await this.mapError(key, error, expected)
    }
  }

  private async mapError(key: string, error: unknown, expected?: string): Promise<Error> {
    const message = error instanceof Error ? error.message : String(error)
    // A step's own check (buffer/steps/lua/include/checks.lua) names the key it refused; Redis appends where the script failed.
    const checked = /^WRONGTYPE wbc: (.*?) \| (.*?) \| (.*?)(?: script: [0-9a-f]+, on @user_script:\d+\.)?$/s.exec(message)
    if (checked) return new WrongType(checked[3], checked[2].replace(/^an? /, ''), checked[1].replace(/^an? /, ''))
    const corrupt = /^CORRUPT wbc: (.*?) \| (.*)$/s.exec(message)
    if (corrupt) return new CorruptValue(corrupt[2], corrupt[1])
    // A step refused an argument that would take a stored number out of range (see buffer/steps/lua/increment.lua).
    const range = /^RANGE wbc: (.*?) \| (.*?)(?: script: [0-9a-f]+, on @user_script:\d+\.)?$/s.exec(message)
    if (range) return new InvalidArgument('delta', `${range[2]} (${range[1]})`)
    if (message.startsWith('WRONGTYPE') || /not a valid float/.test(message)) {
      let actual = 'non-numeric value'
      if (message.startsWith('WRONGTYPE')) actual = await this.redis.type(key).catch(() => 'value of another type')
      return new WrongType(key, expected ?? 'value', actual)
    }
    if (isAuthError(error)) return new AuthenticationFailed('Redis', this.address, maskText(message), {cause: error})
    if (message.startsWith('NOPERM')) {
      return new WbcError('PERMISSION_DENIED', `Redis at ${this.address} refused the command on "${key}": ${message}`, {
        exitCode: ExitCode.unavailable,
        cause: error,
        hint: 'The ACL user lacks a permission wbc needs: grant it the keys under the prefix and the commands wbc runs (see "Security" in the README).',
      })
    }
    if (isConnectionError(error)) return new ServiceUnavailable('Redis', this.address, reasonOf(error), {cause: error})
    return new WbcError('REDIS_ERROR', `Redis at ${this.address} refused the command on "${key}": ${message}`, {cause: error})
  }
}

function decode(key: string, raw: string): Json {
  try {
    return JSON.parse(raw) as Json
  } catch {
    throw new CorruptValue(key, `not JSON: ${raw.length > 40 ? `${raw.slice(0, 40)}…` : raw}`)
  }
}

const tryDecode = (raw: string): Json => {
  try {
    return JSON.parse(raw) as Json
  } catch {
    return raw
  }
}

const ttlOf = (pttl: number) => (pttl >= 0 ? pttl : null)

function isConnectionError(error: unknown): boolean {
  const e = error as NodeJS.ErrnoException & {name?: string}
  return (
    ['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENOTFOUND', 'EPIPE', 'ENETUNREACH'].includes(String(e?.code)) ||
    e?.name === 'MaxRetriesPerRequestError' ||
    /Connection is closed|Command timed out|Stream isn't writeable|enableOfflineQueue/.test(String(e?.message))
  )
}

/** WRONGPASS (wrong password or unknown ACL user), NOAUTH (a password is required). */
const isAuthError = (error: unknown) => /^(WRONGPASS|NOAUTH)\b|invalid password|called without any password configured/.test(String((error as Error)?.message ?? ''))

/** TLS: the server's certificate is not trusted or does not match the host name. */
const isTlsError = (error: unknown) =>
  /CERT|SELF_SIGNED|ERR_TLS|ERR_SSL/.test(String((error as NodeJS.ErrnoException)?.code ?? '')) || /certificate|wrong version number/i.test(String((error as Error)?.message ?? ''))

/** Why connecting failed, from what ioredis reported on the way: a refused password is not an unreachable server. */
function connectError(address: string, error: unknown, reported: unknown): WbcError {
  const cause = reported ?? error
  if (isAuthError(cause)) return new AuthenticationFailed('Redis', address, maskText(String((cause as Error).message)), {cause})
  if (isTlsError(cause)) {
    return new ServiceUnavailable('Redis', address, `TLS: ${maskText(String((cause as Error).message))}`, {
      cause,
      hint: "The server's certificate is not trusted: give its CA as tls.ca (PEM text) in an ipc.redis options object, or set NODE_EXTRA_CA_CERTS to the CA file.",
    })
  }
  return new ServiceUnavailable('Redis', address, reasonOf(cause), {
    cause,
    hint: /^rediss:/.test(address) ? undefined : 'Check that Redis is running and that the address in the configuration is right (a server that requires TLS needs rediss://).',
  })
}

function reasonOf(error: unknown): string {
  const e = error as NodeJS.ErrnoException
  if (e?.code === 'ECONNREFUSED') return 'connection refused'
  if (e?.name === 'MaxRetriesPerRequestError') return 'the connection was lost and the command could not be sent'
  return maskText(String(e?.message ?? error))
}

async function quit(redis: Redis): Promise<void> {
  try {
    if (redis.status === 'ready') await redis.quit()
    else redis.disconnect()
  } catch {
    redis.disconnect()
  }
}
