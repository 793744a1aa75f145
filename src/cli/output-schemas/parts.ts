/**
 * Pieces of the `--json` output schemas shared by several commands. Every object is strict: a field
 * a command starts to print that is not described here fails test/commands/json-schemas.test.ts,
 * so the published schema (docs/schemas/) is updated with it. Never imported by a command: these
 * are read by the schema generator and the tests only (zod would add to every command's start-up).
 */
import {z} from 'zod'

export const count = z.int().min(0)
/** Milliseconds since the epoch. */
export const epochMs = z.number().meta({description: 'Milliseconds since 1970-01-01 UTC.'})
export const ms = z.number().min(0)
/** A value as the application wrote it (a row, a where, a delta, a stream entry): any JSON. */
export const anyJson = z.unknown().meta({description: 'Any JSON value, as the application wrote it.'})
const nullable = <T extends z.ZodType>(schema: T) => schema.nullable()

/** `{error: …}`: every failure under --json, whatever the command (base-command.ts `describeError`). */
export const errorOutput = z
  .strictObject({
    error: z.strictObject({
      code: z.string().meta({description: 'Stable identifier of the failure, e.g. USAGE, CONFIG_INVALID, SERVICE_UNAVAILABLE, LEASE_HELD, UNEXPECTED.'}),
      message: z.string(),
      hint: z.string().optional().meta({description: 'How to fix it, when known.'}),
      exitCode: z.int().meta({description: 'The process exit code (2 usage or configuration, 3 unreachable, 4 lease held, 5 partial, 1 unexpected, …).'}),
    }),
  })
  .meta({title: 'error', description: 'The command failed: printed instead of its result, with the exit code repeated.'})

export const badKey = z.strictObject({key: z.string(), problem: z.string()})

export const tableStatus = z.strictObject({
  connection: z.string(),
  table: z.string(),
  counters: z.strictObject({rows: count, keys: count}),
  updates: z.strictObject({rows: count}),
  inserts: z.strictObject({rows: count}),
  inflight: z.strictObject({batches: count}),
  deadLetters: count,
  oldestPendingMs: nullable(ms),
  blocked: z.strictObject({reason: z.string(), at: epochMs}).optional(),
})

/** A lease as the state store holds it (`holder`, `tookOverFrom`). */
export const leaseRecord = z.strictObject({
  key: z.string(),
  token: nullable(z.string()).meta({description: 'null for a lock written by ODAC (owner unknown).'}),
  host: nullable(z.string()),
  pid: nullable(z.int()),
  acquiredAt: nullable(epochMs),
  fence: nullable(z.int()),
  ttlLeftMs: nullable(z.number()),
  legacy: z.boolean(),
})

export const leaseStatus = z.strictObject({
  owner: nullable(z.string()),
  host: nullable(z.string()),
  pid: nullable(z.int()),
  fence: nullable(z.int()),
  ageMs: nullable(ms),
  ttlMs: nullable(z.number()),
})

export const quarantinedKey = z.strictObject({key: z.string(), reason: z.string()})
export const unreachableConnection = z.strictObject({connection: z.string(), error: z.string()})

export const flushStatus = z.enum(['ok', 'partial', 'skipped'])
export const flushReason = z.enum(['lease-held', 'lease-lost', 'interrupted'])

/** The engine's flush report per table, as `recover` prints it (flush prints a narrower one). */
export const tableFlushReport = z.strictObject({
  connection: z.string(),
  table: z.string(),
  counters: count,
  updates: count,
  inserts: count,
  deadLettered: count,
  batches: count,
  recovered: count,
  error: z.string().optional(),
  blocked: z.boolean().optional(),
  unreachable: z.boolean().optional(),
})

/** The engine's flush report (`recover`'s `report`). */
export const flushReport = z.strictObject({
  status: flushStatus,
  reason: flushReason.optional(),
  holder: nullable(leaseRecord).optional(),
  tookOverFrom: leaseRecord.optional(),
  startedAt: epochMs,
  durationMs: ms,
  fence: nullable(z.int()),
  tables: z.array(tableFlushReport),
  quarantined: z.array(quarantinedKey),
  unreachable: z.array(unreachableConnection).optional(),
})

/** The last flush as the flusher stored it: its report with `tables` as a count. */
export const lastFlush = flushReport.extend({tables: count})

export const rollbackRecord = z.strictObject({
  at: epochMs,
  connection: z.string(),
  reason: z.string(),
  storeFence: nullable(z.int()),
  databaseFence: nullable(z.int()),
  storeEpoch: nullable(z.string()),
  databaseEpoch: nullable(z.string()),
})

export const statusReport = z.strictObject({
  driver: z.enum(['memory', 'redis']),
  prefix: z.string(),
  target: z.string(),
  tables: z.array(tableStatus),
  badKeys: z.array(badKey),
  badKeysTotal: count,
  lease: nullable(leaseStatus),
  lastFlush: nullable(lastFlush),
  rollback: nullable(rollbackRecord).optional(),
})

export const refusal = z.strictObject({
  code: nullable(z.string()),
  constraint: nullable(z.string()),
  message: z.string(),
  detail: z.string().optional(),
})

export const deadLetter = z.strictObject({
  id: z.string(),
  connection: z.string(),
  table: z.string(),
  kind: z.enum(['update', 'counter', 'insert']),
  entry: anyJson,
  error: z.string(),
  at: epochMs,
  reason: refusal,
  statement: nullable(z.string()),
  attempts: nullable(count),
})

export const lockInfo = z.strictObject({
  key: z.string(),
  owner: nullable(z.string()),
  host: nullable(z.string()),
  pid: nullable(z.int()),
  alive: nullable(z.boolean()),
  ageMs: nullable(ms),
  ttlMs: nullable(z.number()),
  fence: nullable(z.int()),
  legacy: z.boolean(),
})

export const streamPolicy = z.strictObject({
  keepKey: z.string().optional(),
  maxCount: count.optional(),
  maxAgeMs: ms.optional(),
  timeField: z.string(),
})

export const exportMeta = z.strictObject({
  format: z.literal(1),
  at: epochMs,
  prefix: z.string(),
  store: z.string(),
  storeFence: z.int(),
  databases: z.record(z.string(), nullable(z.strictObject({fence: z.int(), seq: z.int()}))),
})

/** The configuration as `wbc config` shows it: defaults applied, passwords masked. */
export const resolvedConfig = z.strictObject({
  $schema: z.string().optional(),
  ipc: z.strictObject({
    driver: z.enum(['memory', 'redis']),
    redis: z.union([z.string(), z.looseObject({})]).optional(),
    prefix: z.string(),
    socket: z.string(),
    requestTimeout: ms,
    connectTimeout: ms,
    maxRequestBytes: count,
    maxConnections: count,
    idleTimeout: ms,
    allowForeignOwner: z.boolean(),
  }),
  connections: z.record(z.string(), z.union([z.string(), z.looseObject({client: z.string()})])),
  buffer: z.strictObject({
    flushInterval: ms,
    checkpointInterval: ms,
    maxQueueSize: count,
    primaryKey: z.string(),
    insertBatchSize: count,
    statementTimeoutMs: ms,
    checkpointPath: z.string(),
  }),
  streams: z.record(z.string(), z.strictObject({keepKey: z.string().optional(), maxCount: count.optional(), maxAge: z.union([z.number(), z.string()]).optional(), timeField: z.string().optional()})),
})
