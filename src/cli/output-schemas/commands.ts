/**
 * What each command prints under `--json`, one zod schema per command: the shapes of its results
 * (each titled, with the exit codes it comes with) and `{error}`. `npm run schemas` writes them to
 * docs/schemas/<command>.schema.json; test/commands/json-schemas.test.ts checks real output against
 * them. `dashboard` and `metrics` have no --json (a live view; Prometheus text).
 */
import {z} from 'zod'

import {
  anyJson,
  badKey,
  count,
  deadLetter,
  errorOutput,
  exportMeta,
  flushReason,
  flushReport,
  flushStatus,
  leaseRecord,
  lockInfo,
  ms,
  quarantinedKey,
  resolvedConfig,
  rollbackRecord,
  statusReport,
  streamPolicy,
  tableStatus,
  unreachableConnection,
} from './parts.js'

const shape = <T extends z.ZodType>(title: string, description: string, schema: T) => schema.meta({title, description})

const thresholdBreach = z.strictObject({
  connection: z.string(),
  table: z.string(),
  check: z.enum(['max-pending', 'max-age']),
  value: z.number(),
  limit: z.number(),
})

const flushResult = z.strictObject({
  status: flushStatus,
  reason: flushReason.optional(),
  tables: z.array(
    z.strictObject({
      connection: z.string(),
      table: z.string(),
      counters: count,
      updates: count,
      inserts: count,
      deadLettered: count,
      recovered: count,
      error: z.string().optional(),
      unreachable: z.boolean().optional(),
    }),
  ),
  durationMs: ms,
  fence: z.int().nullable(),
  quarantined: z.array(quarantinedKey),
  unreachable: z.array(unreachableConnection),
  tookOverFrom: leaseRecord.optional(),
})

const plannedSql = z.strictObject({
  kind: z.enum(['limits', 'update', 'counter', 'check', 'insert']),
  sql: z.string(),
  bindings: count,
  times: count,
  conditional: z.literal(true).optional(),
})

const recoverResult = z.strictObject({
  mode: z.enum(['inflight', 'checkpoint']),
  checkpoint: z.string().nullable(),
  dryRun: z.boolean(),
  found: z.strictObject({counters: count, updates: count, inserts: count, batches: count}),
  report: flushReport.nullable(),
  backup: z.strictObject({verdict: z.enum(['own', 'current', 'moved-past', 'unknown']), detail: z.string(), meta: exportMeta.nullable()}).optional(),
  inProgress: z.strictObject({batches: count, host: z.string().nullable(), pid: z.int().nullable()}).optional(),
})

const rollbackAssessment = z.strictObject({
  flagged: rollbackRecord.nullable(),
  store: z.strictObject({epoch: z.string().nullable(), fence: z.int(), pending: z.boolean()}),
  databases: z.array(z.strictObject({connection: z.string(), fence: z.int().nullable(), epoch: z.string().nullable(), behind: z.string().nullable(), error: z.string().optional()})),
  pending: z.array(tableStatus),
  rolledBack: z.boolean(),
})

const checkpointResult = z.strictObject({path: z.string(), counters: count, updates: count, queues: count, inflight: count})
const demoTotals = z.strictObject({views: count, likes: count, activity: count})
const streamEntry = z.strictObject({index: z.int(), entry: anyJson})

/** Command id (as typed, topics separated by a space) → the shapes it prints under --json. */
export const commandOutputs: Record<string, z.ZodType[]> = {
  checkpoint: [
    shape('checkpoint written', 'Exit 0: the running application wrote its checkpoint; with --out, the export and its record (`meta`).', checkpointResult.extend({meta: exportMeta.optional()})),
  ],
  compact: [
    shape(
      'compaction',
      'Exit 0 (or 0 with dryRun: what would be removed).',
      z.strictObject({key: z.string(), dryRun: z.boolean(), examined: count, removed: count, kept: count, archive: z.string().nullable()}),
    ),
  ],
  config: [
    shape(
      'resolved configuration',
      'Exit 0: where the configuration came from and every setting, passwords masked.',
      z.strictObject({
        file: z.string().nullable(),
        source: z.enum(['flag', 'env', 'discovered', 'defaults']),
        format: z.enum(['wbc', 'odac']),
        overrides: z.array(z.string()),
        driver: z.enum(['memory', 'redis']),
        connections: z.array(z.strictObject({name: z.string(), dialect: z.string(), target: z.string()})),
        config: resolvedConfig,
      }),
    ),
  ],
  'deadletter drop': [shape('dropped', 'Exit 0: how many dead letters were discarded.', z.strictObject({dropped: count}))],
  'deadletter list': [
    shape(
      'a page of dead letters',
      "Exit 0: oldest first; `cursor` is the next page's --cursor, null at the end.",
      z.strictObject({deadLetters: z.array(deadLetter), total: count, cursor: count.nullable()}),
    ),
  ],
  'deadletter retry': [
    shape(
      'retried',
      'Exit 0; exit 5 when some are left alone because their batch is still in flight (`inFlight`).',
      z.strictObject({retried: count, ids: z.array(z.string()), alreadyApplied: z.array(z.string()), inFlight: z.array(z.string())}),
    ),
  ],
  'deadletter show': [shape('one dead letter', 'Exit 0.', z.strictObject({deadLetter}))],
  demo: [
    shape(
      'demo verdict',
      'Exit 0 when the database holds exactly what was written (`verified`), exit 1 when not.',
      z.strictObject({
        seconds: count,
        written: demoTotals.extend({updates: count}),
        database: z.strictObject({before: demoTotals, after: demoTotals}),
        verified: z.boolean(),
        deadLetters: z.array(z.strictObject({table: z.string(), count, firstError: z.string()})),
      }),
    ),
  ],
  doctor: [
    shape(
      'checks',
      'Exit 0 when every check passes (`ok`); otherwise the exit code of the first failed check (3, 2, 5, 7).',
      z.strictObject({
        ok: z.boolean(),
        checks: z.array(
          z.strictObject({
            name: z.string(),
            ok: z.boolean(),
            detail: z.string(),
            fix: z.string().optional(),
            exitCode: z.int().optional(),
            badKeys: z.array(badKey).optional(),
            warning: z.string().optional(),
          }),
        ),
      }),
    ),
  ],
  flush: [
    shape(
      'flush report',
      'Exit 0 flushed (or nothing to do); exit 5 partial (dead letters, quarantined keys, batches left in flight); exit 3 when a database that had work is unreachable (`unreachable` lists it; its tables carry `unreachable: true` and `error`).',
      flushResult,
    ),
    shape(
      'lease held',
      'Exit 4: another live process holds the flush lease (`holder`); status is "skipped".',
      flushResult.extend({status: z.literal('skipped'), holder: leaseRecord.nullable().optional()}),
    ),
    shape(
      'dry-run plan',
      'Exit 0 (--dry-run): per table what is pending and the statements a flush would send; nothing is claimed.',
      z.strictObject({
        dryRun: z.literal(true),
        tables: z.array(tableStatus.extend({statements: z.array(plannedSql), error: z.string().optional()})),
      }),
    ),
  ],
  get: [
    shape(
      'counter',
      'Exit 0: the base, the delta in flight, the pending delta and their total.',
      z.strictObject({
        table: z.string(),
        where: z.string(),
        column: z.string(),
        base: z.number(),
        inflight: z.number(),
        pending: z.number(),
        total: z.number(),
        baseSource: z.enum(['database', 'cache']),
        baseMaxAgeMs: ms.optional(),
        databaseError: z.string().optional(),
      }),
    ),
  ],
  locks: [shape('leases', 'Exit 0: every lease under the prefix.', z.strictObject({locks: z.array(lockInfo)}))],
  'locks release': [
    shape('release', 'Exit 0: released, or not held (`released: false`).', z.strictObject({key: z.string(), released: z.boolean(), previous: lockInfo.nullable(), forced: z.boolean()})),
  ],
  pending: [
    shape(
      'a page of pending entries',
      "Exit 0: `cursor` is the next page's --cursor, null at the end; `value` only with --show-values.",
      z.strictObject({
        entries: z.array(
          z.strictObject({
            type: z.enum(['counter', 'update', 'insert']),
            connection: z.string(),
            table: z.string(),
            where: z.string().optional(),
            column: z.string().optional(),
            value: anyJson.optional(),
          }),
        ),
        cursor: z.string().nullable(),
      }),
    ),
  ],
  recover: [
    shape(
      'recovery',
      'Exit 0 done or nothing to do; 4 the flush lease is held (report.status "skipped"); 3 a database with batches to finish is unreachable (report.unreachable); 5 partial.',
      recoverResult,
    ),
    shape(
      'after rollback',
      '--after-rollback: exit 0 (resumed, or no rollback found); exit 7 with --dry-run when a rollback is found.',
      z.strictObject({
        mode: z.literal('after-rollback'),
        dryRun: z.boolean(),
        assessment: rollbackAssessment,
        resynced: z.strictObject({epoch: z.string(), fence: z.int()}).nullable(),
      }),
    ),
  ],
  status: [
    shape(
      'status',
      'Exit 0; with --max-pending/--max-age, `breaches` lists what exceeds them (exit 6 when any); exit 7 when the store was found rolled back (`rollback`).',
      statusReport.extend({breaches: z.array(thresholdBreach).optional()}),
    ),
  ],
  streams: [
    shape(
      'streams',
      'Exit 0: every stream under the prefix.',
      z.strictObject({
        streams: z.array(
          z.strictObject({
            name: z.string(),
            key: z.string(),
            kind: z.enum(['queue', 'events', 'list']),
            length: count,
            oldestAgeMs: ms.nullable(),
            newestAgeMs: ms.nullable(),
            approxBytes: count,
            policy: streamPolicy.nullable(),
          }),
        ),
      }),
    ),
  ],
  'streams tail': [
    shape('a page of entries', 'Exit 0: `cursor` continues the page (equal to `length` at the end).', z.strictObject({entries: z.array(streamEntry), cursor: z.int(), length: count})),
    shape('one followed entry', 'With --follow --json: one such object per line (NDJSON), as entries arrive.', streamEntry),
  ],
}

/** Commands that have no --json: why, for docs/json-output.md. */
export const withoutJson: Record<string, string> = {
  dashboard: 'a live terminal view; `wbc status --json` gives the same figures',
  metrics: 'prints Prometheus text (its own stable format)',
}

/** One command's published schema: its result shapes or `{error}`. */
export function commandSchema(id: string): z.ZodType {
  const shapes = commandOutputs[id]
  return z.union([...shapes, errorOutput]).meta({title: `wbc ${id} --json`, description: `What \`wbc ${id} --json\` prints on stdout: one of these documents.`})
}
