import {z} from 'zod'

import {MAX_ROW_BYTES} from '../buffer/validate.js'
import {DURATION_TEXT} from '../duration.js'
import {IDENTIFIER, PREFIX, identifierRule, prefixRule} from './identifiers.js'

const positiveMs = (what: string) =>
  z.number({error: `expected ${what} in milliseconds (a positive integer)`}).int().positive()

/** ioredis accepts a URL or an options object; both are kept as given and validated lightly. */
const redisTarget = z.union([
  z.string({error: 'expected a redis:// URL or an options object'}).regex(/^rediss?:\/\//, {
    message: 'expected a URL starting with redis:// or rediss://',
  }),
  z.looseObject({
    host: z.string().optional(),
    port: z.number().int().positive().optional(),
    path: z.string().optional(),
    username: z.string().optional(),
    password: z.string().optional(),
    db: z.number().int().nonnegative().optional(),
  }),
])

export const ipcSchema = z.strictObject({
  driver: z.enum(['memory', 'redis'], {error: 'expected "memory" or "redis"'}).default('memory'),
  redis: redisTarget.optional(),
  prefix: z.string().regex(PREFIX, {message: `expected ${prefixRule}`}).default('wb'),
  socket: z.string().min(1).default('./.wbc/wbc.sock'),
  /** How long a request to the memory driver's primary (or to Redis) may take. */
  requestTimeout: positiveMs('a timeout').default(5000),
  /** How long connecting to Redis or the socket may take before the service counts as unreachable. */
  connectTimeout: positiveMs('a timeout').default(3000),
  /**
   * The longest request (one JSON line) a socket client may send; a longer one closes its
   * connection. At least twice the largest row or update (MAX_ROW_BYTES) so one always fits.
   */
  maxRequestBytes: z.number({error: 'expected a size in bytes'}).int().min(2 * MAX_ROW_BYTES).max(2 ** 30).default(16 * 1024 * 1024),
  /** Socket clients served at once; one more is told why and closed. */
  maxConnections: z.number({error: 'expected a number of connections'}).int().positive().max(65536).default(256),
  /** A socket client that sends nothing (and waits for no answer, listens on no channel) this long is closed. */
  idleTimeout: positiveMs('a timeout').default(300000),
  /** Use a socket or checkpoint file that belongs to another user (refused by default). */
  allowForeignOwner: z.boolean({error: 'expected true or false'}).default(false),
})

/** A knex configuration object; `client` is required, the rest is passed to knex as it is. */
const knexConfig = z.looseObject({
  client: z.enum(['better-sqlite3', 'sqlite3', 'pg', 'postgres', 'postgresql', 'mysql', 'mysql2'], {
    error: 'expected client "better-sqlite3", "pg" or "mysql2"',
  }),
  connection: z.unknown().optional(),
})

const connectionTarget = z.union([
  z.string({error: 'expected a connection URL or a knex configuration object'}).min(1),
  knexConfig,
])

export const bufferSchema = z.strictObject({
  flushInterval: positiveMs('an interval').default(5000),
  checkpointInterval: positiveMs('an interval').default(30000),
  maxQueueSize: z.number().int().positive().default(10000),
  primaryKey: z.string().regex(IDENTIFIER, {message: `expected a column name: ${identifierRule}`}).default('id'),
  insertBatchSize: z.number().int().positive().max(100000).default(1000),
  /** How long one flush statement may wait for a lock (or run) before its transaction is retried later; 0 = no limit. */
  statementTimeoutMs: z.number().int().min(0).max(3600000).default(5000),
  checkpointPath: z.string().min(1).default('./.wbc/checkpoint.lmdb'),
})

/** A JSON number is milliseconds; text needs its unit (`5` alone could be 5 ms or 5 minutes). */
const duration = z.union([z.number().int().positive(), z.string().regex(DURATION_TEXT, {message: 'expected a duration with its unit, like 30s, 5m, 2h, 7d (a JSON number is milliseconds)'})])

export const streamPolicySchema = z.strictObject({
  keepKey: z.string().min(1).optional(),
  maxCount: z.number().int().positive().optional(),
  maxAge: duration.optional(),
  /** The entry field holding its time (ms since epoch or an ISO date) for maxAge; default `at`. */
  timeField: z.string().min(1).optional(),
})

export const DEFAULT_SQLITE_FILE = './.wbc/wbc.sqlite'

export const configSchema = z.strictObject({
  $schema: z.string().optional(),
  ipc: ipcSchema.prefault({}),
  connections: z
    .record(z.string().regex(IDENTIFIER, {message: `connection names use ${identifierRule}`}), connectionTarget)
    .default({default: `sqlite:${DEFAULT_SQLITE_FILE}`}),
  buffer: bufferSchema.prefault({}),
  /** Compaction policies by stream name (relative to the prefix) or glob, e.g. "q:default:activity_log", "lists:*". */
  streams: z.record(z.string().min(1), streamPolicySchema).default({}),
})

export type WbcConfigInput = z.input<typeof configSchema>
export type WbcConfig = z.output<typeof configSchema>
export type IpcConfig = z.output<typeof ipcSchema>
export type BufferConfig = z.output<typeof bufferSchema>
export type ConnectionTarget = z.output<typeof connectionTarget>
export type StreamPolicyInput = z.output<typeof streamPolicySchema>
