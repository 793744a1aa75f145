import {randomUUID} from 'node:crypto'
import {readFileSync} from 'node:fs'

import {Redis, type RedisOptions} from './ioredis.js'

import {maskText} from '../../config/mask.js'
import {AuthenticationFailed, CorruptValue, ExitCode, ServiceUnavailable, WbcError, WrongType} from '../../errors.js'
import {KeySpace} from '../../buffer/keys.js'
import {decodeBatch, emptyArray, type BufferSteps, type ClaimRequest, type CounterReading} from '../../buffer/steps.js'
import {finiteNumber} from '../finite-number.js'
import {toLease, toLeaseRecord, type StoredLease} from '../../locks/lease-record.js'
import {fenceKeyOf, type IpcDriver, type LeaseClaim} from '../driver.js'
import type {Json, Lease, LeaseRecord, ScanPage, UnlockResult} from '../types.js'
import {IncrementBatcher, type QueuedIncrement} from './increment-batch.js'

/** `{connection}:{table}` of a member. */
const tableOf = (member: string) => member.slice(0, member.indexOf(':', member.indexOf(':') + 1))
const read = (name: string) => readFileSync(new URL(`./${name}.lua`, import.meta.url), 'utf8')
/** The buffer steps share their checks (checks.lua, put in front of each). */
const lua = (name: string) => (name.startsWith('buffer-') ? `${read('checks')}\n${read(name)}` : read(name))

/** The sum of in-flight deltas a step sends as one string joined with "," (added here: exact doubles, not Lua's 14 digits). */
const sumDeltas = (joined: string | number | null | undefined) => {
  let total = 0
  if (joined) for (const delta of String(joined).split(',')) total += Number(delta)
  return total
}

/** The Lua steps, one file each, loaded once per connection. */
const SCRIPTS = {
  wbcLock: {numberOfKeys: 2, lua: lua('lock')},
  wbcRenew: {numberOfKeys: 1, lua: lua('renew')},
  wbcUnlock: {numberOfKeys: 1, lua: lua('unlock')},
  wbcLrangeAndDel: {numberOfKeys: 1, lua: lua('lrange-and-del')},
  wbcIncrement: {numberOfKeys: 1, lua: lua('buffer-increment')},
  wbcUpdate: {numberOfKeys: 5, lua: lua('buffer-update')},
  wbcInsert: {numberOfKeys: 4, lua: lua('buffer-insert')},
  wbcSettleAge: {numberOfKeys: 1, lua: lua('buffer-settle-age')},
  wbcRequeue: {numberOfKeys: 1, lua: lua('buffer-requeue')},
  wbcCompactChunk: {numberOfKeys: 1, lua: lua('stream-compact-chunk')},
  wbcClaim: {numberOfKeys: 7, lua: lua('buffer-claim')},
  wbcQuarantine: {numberOfKeys: 4, lua: lua('buffer-quarantine')},
  wbcAck: {numberOfKeys: 2, lua: lua('buffer-ack')},
  wbcReadCounter: {numberOfKeys: 4, lua: lua('buffer-read-counter')},
  wbcCacheBase: {numberOfKeys: 4, lua: lua('buffer-cache-base')},
}

interface ScriptCommands {
  wbcLock(lockKey: string, fenceKey: string, token: string, host: string, pid: number, ttlMs: number): Promise<string | null>
  wbcRenew(lockKey: string, token: string, ttlMs: number): Promise<number>
  wbcUnlock(lockKey: string, token: string): Promise<[number, string?, number?]>
  wbcLrangeAndDel(listKey: string): Promise<string[]>
  wbcIncrement(...args: Array<string | number>): Promise<Array<string | number | null>>
  wbcUpdate(...args: Array<string | number>): Promise<number>
  wbcInsert(...args: Array<string | number>): Promise<number>
  wbcClaim(...args: Array<string | number>): Promise<string | null>
  wbcQuarantine(...args: Array<string | number>): Promise<number>
  wbcAck(...args: Array<string | number>): Promise<number>
  wbcSettleAge(...args: Array<string | number>): Promise<number>
  wbcRequeue(...args: Array<string | number>): Promise<number>
  wbcCompactChunk(...args: Array<string | number>): Promise<number>
  wbcReadCounter(...args: Array<string | number>): Promise<[string | null, string | null, string[], string | null]>
  wbcCacheBase(...args: Array<string | number>): Promise<[number, string?, string?]>
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

  private readonly increments = new IncrementBatcher((batch) => this.sendIncrements(batch))

  private constructor(
    private readonly redis: Redis & ScriptCommands,
    readonly address: string,
    private readonly options: RedisDriverOptions,
  ) {}

  /** One script call for a batch of increments; each caller gets its own answer or error. */
  private async sendIncrements(batch: QueuedIncrement[]): Promise<void> {
    // One call per prefix (almost always one): the counter index is per prefix.
    const prefixes = new Set(batch.map((item) => item.prefix))
    if (prefixes.size > 1) {
      await Promise.all([...prefixes].map((prefix) => this.sendIncrements(batch.filter((item) => item.prefix === prefix))))
      return
    }
    const k = KeySpace.of(batch[0].prefix)
    const tables = new Map<string, number>()
    const args: Array<string | number> = [k.countersIndex, Date.now(), k.prefix, batch.length]
    for (const item of batch) {
      let t = tables.get(item.table)
      if (t === undefined) tables.set(item.table, (t = tables.size + 1))
      args.push(item.delta, item.member, t)
    }
    args.push(...tables.keys())
    let reply: Array<string | number | null>
    try {
      reply = await this.redis.wbcIncrement(...args)
    } catch (error) {
      const mapped = await this.mapError(k.counter(batch[0].member), error, 'number')
      for (const item of batch) item.reject(mapped)
      return
    }
    for (let i = 0; i < batch.length; i++) {
      const [ok, live, base, inflight] = reply.slice(4 * i, 4 * i + 4)
      if (ok === 1) batch[i].resolve({live: Number(live), base: finiteNumber(base as string | null), inflight: sumDeltas(inflight)})
      else batch[i].reject(await this.mapError(k.counter(batch[i].member), new Error(String(live)), 'number'))
    }
  }

  static async connect(target: RedisTarget, options: RedisDriverOptions): Promise<RedisDriver> {
    const address = describeRedis(target)
    const redisOptions: RedisOptions = {
      lazyConnect: true,
      connectTimeout: options.connectTimeoutMs,
      commandTimeout: options.commandTimeoutMs,
      // Fail a command in bounded time while Redis is away instead of queueing it forever.
      maxRetriesPerRequest: 1,
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
    const [[getError, raw], [, pttl]] = results ?? [[null, null], [null, -2]]
    if (getError) throw await this.mapError(key, getError, 'lock')
    if (raw === null || raw === undefined) return null
    return toLeaseRecord(key, tryDecode(raw as string), ttlOf(pttl as number))
  }

  async checkpoint(): Promise<never> {
    throw new WbcError('NOTHING_TO_CHECKPOINT', `the redis driver keeps its state in Redis (${this.address}); wbc has no checkpoint of its own there`, {
      exitCode: 2,
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

  readonly steps: BufferSteps = {
    increment: (prefix, member, delta) => this.increments.add({prefix, table: tableOf(member), delta, member}),
    update: async (prefix, member, fields) => {
      const k = KeySpace.of(prefix)
      const flat = Object.entries(fields).flatMap(([field, value]) => [field, JSON.stringify(value)])
      const table = tableOf(member)
      await this.run(member, () => this.redis.wbcUpdate(k.update(member), k.updatesIndex, k.age(table), k.stats(table), k.updateTimes(table), member, Date.now(), ...flat), 'hash')
    },
    insert: async (prefix, table, rows) => {
      const k = KeySpace.of(prefix)
      return this.run(table, () => this.redis.wbcInsert(k.queue(table), k.queuesIndex, k.age(table), k.stats(table), table, Date.now(), ...rows.map((row) => JSON.stringify(row))), 'list')
    },
    claim: async (prefix, request: ClaimRequest) => {
      const k = KeySpace.of(prefix)
      const raw = await this.run(request.table, () =>
        this.redis.wbcClaim(
          k.countersIndex, k.updatesIndex, k.queuesIndex, k.inflightIndex, k.batch(request.batchId), k.generation(request.table), k.queue(request.table),
          prefix, request.batchId, request.createdAt, request.table, request.maxInserts,
          request.counters.length, ...request.counters, request.updates.length, ...request.updates,
        ),
      )
      if (!raw) return {batch: null, quarantined: []}
      const answer = JSON.parse(raw) as {empty?: boolean; quarantined?: unknown}
      const quarantined = emptyArray<[string, string]>(answer.quarantined).map(([key, reason]) => ({key, reason}))
      return {batch: answer.empty ? null : decodeBatch(answer), quarantined}
    },
    quarantine: async (prefix, kind, member, reason) => {
      const k = KeySpace.of(prefix)
      await this.run(member, () => this.redis.wbcQuarantine(k.indexOf(kind), `${prefix}:${kind}:${member}`, `${prefix}:bad:${kind}:${member}`, k.badIndex, member, `${kind}:${member}`, reason, Date.now()))
    },
    ack: async (prefix, batchId, deadMembers) => {
      const k = KeySpace.of(prefix)
      return (await this.run(k.batch(batchId), () => this.redis.wbcAck(k.batch(batchId), k.inflightIndex, prefix, batchId, Date.now(), ...deadMembers))) === 1
    },
    readCounter: async (prefix, member): Promise<CounterReading> => {
      const k = KeySpace.of(prefix)
      const table = tableOf(member)
      const [live, base, flat, generation] = await this.run(k.counter(member), () => this.redis.wbcReadCounter(k.counter(member), k.base(member), k.inflightIndex, k.generation(table), prefix, member))
      const inflight: Record<string, number> = {}
      for (let i = 0; i < flat.length; i += 2) inflight[flat[i]] = Number(flat[i + 1])
      return {live: Number(live ?? 0), base: finiteNumber(base), inflight, generation: generation ?? '0'}
    },
    requeue: async (prefix, table, id, entry) => {
      const k = KeySpace.of(prefix)
      for (const [member, delta] of entry.kind === 'counter' ? entry.deltas : []) {
        // As the memory step refuses it (String() would send "NaN", or a string that happens to parse).
        if (typeof delta !== 'number' || !Number.isFinite(delta)) throw new CorruptValue(`${k.deadLetters(table)} (field ${id})`, `delta ${String(delta)} of ${member} is not a number`)
      }
      const payload: Array<string | number> =
        entry.kind === 'counter'
          ? entry.deltas.flat()
          : entry.kind === 'update'
            ? [entry.member, ...Object.entries(entry.fields).flatMap(([field, value]) => [field, JSON.stringify(value)])]
            : [JSON.stringify(entry.row)]
      return (await this.run(table, () => this.redis.wbcRequeue(k.deadLetters(table), prefix, id, entry.kind, Date.now(), table, ...payload))) === 1
    },
    compactChunk: async (key, position, sha, mask) =>
      this.run(key, () => this.redis.wbcCompactChunk(key, position, sha, mask, `\u0000wbc-tombstone-${randomUUID()}`), 'list'),
    settleAge: async (prefix, table, flushStart) => {
      const k = KeySpace.of(prefix)
      await this.run(table, () => this.redis.wbcSettleAge(k.age(table), flushStart))
    },
    cacheBase: async (prefix, member, generation, base, ttlMs) => {
      const k = KeySpace.of(prefix)
      const table = tableOf(member)
      const [cached, live, inflight] = await this.run(k.counter(member), () =>
        this.redis.wbcCacheBase(k.generation(table), k.base(member), k.counter(member), k.inflightIndex, generation, base, ttlMs, prefix, member),
      )
      return {cached: cached === 1, live: Number(live ?? 0), inflight: sumDeltas(inflight)}
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
    // A step's own check (checks.lua) names the key it refused; Redis appends where the script failed.
    const checked = /^WRONGTYPE wbc: (.*?) \| (.*?) \| (.*?)(?: script: [0-9a-f]+, on @user_script:\d+\.)?$/s.exec(message)
    if (checked) return new WrongType(checked[3], checked[2].replace(/^an? /, ''), checked[1].replace(/^an? /, ''))
    const corrupt = /^CORRUPT wbc: (.*?) \| (.*)$/s.exec(message)
    if (corrupt) return new CorruptValue(corrupt[2], corrupt[1])
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
      hint: 'The server\'s certificate is not trusted: give its CA as tls.ca (PEM text) in an ipc.redis options object, or set NODE_EXTRA_CA_CERTS to the CA file.',
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
