import * as z from './zod-core.js'

import {MAX_ROW_BYTES} from '../buffer/validate.js'
import {DURATION_TEXT} from '../duration.js'
import {IDENTIFIER, PREFIX, identifierRule, prefixRule} from './identifiers.js'

const positiveMs = (what: string) => z.checked(z.number({error: `expected ${what} in milliseconds (a positive integer)`}), z.int(), z.gt(0))
const positiveInt = () => z.checked(z.number(), z.int(), z.gt(0))
const nonEmpty = () => z.checked(z.string(), z.minLength(1))

/** ioredis accepts a URL or an options object; both are kept as given and validated lightly. */
const redisTarget = z.union([
  z.checked(z.string({error: 'expected a redis:// URL or an options object'}), z.regex(/^rediss?:\/\//, {message: 'expected a URL starting with redis:// or rediss://'})),
  z.looseObject({
    host: z.optional(z.string()),
    port: z.optional(positiveInt()),
    path: z.optional(z.string()),
    username: z.optional(z.string()),
    password: z.optional(z.string()),
    db: z.optional(z.checked(z.number(), z.int(), z.gte(0))),
  }),
])

export const ipcSchema = z.strictObject({
  driver: z.withDefault(z.enumOf(['memory', 'redis'], {error: 'expected "memory" or "redis"'}), 'memory'),
  redis: z.optional(redisTarget),
  prefix: z.withDefault(z.checked(z.string(), z.regex(PREFIX, {message: `expected ${prefixRule}`})), 'wb'),
  socket: z.withDefault(nonEmpty(), './.wbc/wbc.sock'),
  /** How long a request to the memory driver's primary (or to Redis) may take. */
  requestTimeout: z.withDefault(positiveMs('a timeout'), 5000),
  /** How long connecting to Redis or the socket may take before the service counts as unreachable. */
  connectTimeout: z.withDefault(positiveMs('a timeout'), 3000),
  /**
   * The longest request (one JSON line) a socket client may send; a longer one closes its
   * connection. At least twice the largest row or update (MAX_ROW_BYTES) so one always fits.
   */
  maxRequestBytes: z.withDefault(z.checked(z.number({error: 'expected a size in bytes'}), z.int(), z.gte(2 * MAX_ROW_BYTES), z.lte(2 ** 30)), 16 * 1024 * 1024),
  /** Socket clients served at once; one more is told why and closed. */
  maxConnections: z.withDefault(z.checked(z.number({error: 'expected a number of connections'}), z.int(), z.gt(0), z.lte(65536)), 256),
  /** A socket client that sends nothing (and waits for no answer, listens on no channel) this long is closed. */
  idleTimeout: z.withDefault(positiveMs('a timeout'), 300000),
  /** Use a socket or checkpoint file that belongs to another user (refused by default). */
  allowForeignOwner: z.withDefault(z.boolean({error: 'expected true or false'}), false),
})

/** A knex configuration object; `client` is required, the rest is passed to knex as it is. */
const knexConfig = z.looseObject({
  client: z.enumOf(['better-sqlite3', 'sqlite3', 'pg', 'postgres', 'postgresql', 'mysql', 'mysql2'], {
    error: 'expected client "better-sqlite3", "pg" or "mysql2"',
  }),
  connection: z.optional(z.unknown()),
})

const connectionTarget = z.union([z.checked(z.string({error: 'expected a connection URL or a knex configuration object'}), z.minLength(1)), knexConfig])

export const bufferSchema = z.strictObject({
  flushInterval: z.withDefault(positiveMs('an interval'), 5000),
  checkpointInterval: z.withDefault(positiveMs('an interval'), 30000),
  maxQueueSize: z.withDefault(positiveInt(), 10000),
  primaryKey: z.withDefault(z.checked(z.string(), z.regex(IDENTIFIER, {message: `expected a column name: ${identifierRule}`})), 'id'),
  insertBatchSize: z.withDefault(z.checked(z.number(), z.int(), z.gt(0), z.lte(100000)), 1000),
  /** How long one flush statement may wait for a lock (or run) before its transaction is retried later; 0 = no limit. */
  statementTimeoutMs: z.withDefault(z.checked(z.number(), z.int(), z.gte(0), z.lte(3600000)), 5000),
  checkpointPath: z.withDefault(nonEmpty(), './.wbc/checkpoint.lmdb'),
})

/** A JSON number is milliseconds; text needs its unit (`5` alone could be 5 ms or 5 minutes). */
const duration = z.union([positiveInt(), z.checked(z.string(), z.regex(DURATION_TEXT, {message: 'expected a duration with its unit, like 30s, 5m, 2h, 7d (a JSON number is milliseconds)'}))])

export const streamPolicySchema = z.strictObject({
  keepKey: z.optional(nonEmpty()),
  maxCount: z.optional(positiveInt()),
  maxAge: z.optional(duration),
  /** The entry field holding its time (ms since epoch or an ISO date) for maxAge; default `at`. */
  timeField: z.optional(nonEmpty()),
})

export const DEFAULT_SQLITE_FILE = './.wbc/wbc.sqlite'

export const configSchema = z.strictObject({
  $schema: z.optional(z.string()),
  ipc: z.withPrefault(ipcSchema, {}),
  connections: z.withDefault(z.record(z.checked(z.string(), z.regex(IDENTIFIER, {message: `connection names use ${identifierRule}`})), connectionTarget), {
    default: `sqlite:${DEFAULT_SQLITE_FILE}`,
  }),
  buffer: z.withPrefault(bufferSchema, {}),
  /** Compaction policies by stream name (relative to the prefix) or glob, e.g. "q:default:activity_log", "lists:*". */
  streams: z.withDefault(z.record(nonEmpty(), streamPolicySchema), {}),
})

export type WbcConfigInput = z.input<typeof configSchema>
export type WbcConfig = z.output<typeof configSchema>
export type IpcConfig = z.output<typeof ipcSchema>
export type BufferConfig = z.output<typeof bufferSchema>
export type ConnectionTarget = z.output<typeof connectionTarget>
export type StreamPolicyInput = z.output<typeof streamPolicySchema>
