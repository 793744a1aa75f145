import {KeySpace, parseTableMember} from '../buffer/keys.js'
import {scanKeys} from '../ipc/cursor.js'
import type {Ipc} from '../ipc/types.js'
import {readStatus, type StatusReport} from './status.js'

const escape = (value: string) => value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')

/** Running totals per table since the state began: they only grow (a memory-driver restart resets the dead-lettered ones). */
export interface TableCounters {
  connection: string
  table: string
  writes: number
  flushed: number
  deadLettered: number
}

export interface MetricsReport {
  status: StatusReport
  tables: TableCounters[]
  /** Flushes run, per status (ok, partial, skipped). */
  flushes: Record<string, number>
}

const FLUSH_STATUSES = ['ok', 'partial', 'skipped']

/** The status figures and the running totals (`{prefix}:stats:*`, `{prefix}:totals:*`), read with cursors. */
export async function readMetrics(ipc: Ipc, prefix: string, now = Date.now()): Promise<MetricsReport> {
  const keys = new KeySpace(prefix)
  const status = await readStatus(ipc, prefix, {}, now)
  const tables = new Map<string, TableCounters>()
  const entry = (member: string) => {
    const parsed = parseTableMember(member)
    if (!parsed) return null
    let t = tables.get(member)
    if (!t) tables.set(member, (t = {...parsed, writes: 0, flushed: 0, deadLettered: 0}))
    return t
  }
  const count = (raw: unknown) => {
    const n = Number(raw ?? 0)
    return Number.isFinite(n) ? n : 0
  }
  for await (const page of scanKeys(ipc, `${prefix}:stats:*`)) {
    for (const key of page) {
      const t = entry(key.slice(`${prefix}:stats:`.length))
      if (t) t.writes = count((await ipc.hgetall(key).catch(() => null))?.writes)
    }
  }
  const totals = async (head: string, set: (t: TableCounters, n: number) => void) => {
    for await (const page of scanKeys(ipc, `${head}*`)) {
      for (const key of page) {
        const t = entry(key.slice(head.length))
        if (t) set(t, count(await ipc.get(key).catch(() => 0)))
      }
    }
  }
  await totals(keys.rowsFlushedTotal(''), (t, n) => (t.flushed = n))
  await totals(keys.deadLetteredTotal(''), (t, n) => (t.deadLettered = n))
  const flushes: Record<string, number> = {}
  for (const s of FLUSH_STATUSES) flushes[s] = count(await ipc.get(keys.flushesTotal(s)).catch(() => 0))
  return {status, tables: [...tables.values()].sort((a, b) => `${a.connection}:${a.table}`.localeCompare(`${b.connection}:${b.table}`)), flushes}
}

type Samples = Array<[Record<string, string>, number]>

function exposition() {
  const lines: string[] = []
  const metric = (name: string, help: string, type: 'gauge' | 'counter', samples: Samples) => {
    lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`)
    for (const [labels, value] of samples) {
      const text = Object.entries(labels)
        .map(([k, v]) => `${k}="${escape(v)}"`)
        .join(',')
      lines.push(`${name}${text ? `{${text}}` : ''} ${Number.isFinite(value) ? value : 0}`)
    }
  }
  return {lines, metric}
}

/** The figures of `wbc status` and the running totals in Prometheus text exposition format (0.0.4). */
export function toPrometheus(metrics: MetricsReport): string {
  const {status: report} = metrics
  const {lines, metric} = exposition()
  const base = {prefix: report.prefix, driver: report.driver}
  const per = (t: {connection: string; table: string}) => ({...base, connection: t.connection, table: t.table})
  metric('wbc_up', 'Whether wbc could read the state (1), or not (0: the other figures are absent, not zero).', 'gauge', [[base, 1]])
  metric(
    'wbc_pending_rows',
    'Rows with pending writes, per table and type.',
    'gauge',
    report.tables.flatMap(
      (t) =>
        [
          [{...per(t), type: 'counter'}, t.counters.rows],
          [{...per(t), type: 'update'}, t.updates.rows],
          [{...per(t), type: 'insert'}, t.inserts.rows],
        ] as Samples,
    ),
  )
  metric(
    'wbc_pending_counter_keys',
    'Pending counter keys (row, column), per table.',
    'gauge',
    report.tables.map((t) => [per(t), t.counters.keys]),
  )
  metric(
    'wbc_oldest_pending_seconds',
    'Age of the oldest pending or in-flight entry, per table.',
    'gauge',
    report.tables.map((t) => [per(t), (t.oldestPendingMs ?? 0) / 1000]),
  )
  metric(
    'wbc_inflight_batches',
    'Batches claimed but not yet acknowledged, per table.',
    'gauge',
    report.tables.map((t) => [per(t), t.inflight.batches]),
  )
  metric(
    'wbc_dead_letters',
    'Entries the database refused, per table.',
    'gauge',
    report.tables.map((t) => [per(t), t.deadLetters]),
  )
  metric('wbc_lease_held', 'Whether the flush lease is held.', 'gauge', [[base, report.lease ? 1 : 0]])
  metric('wbc_lease_age_seconds', 'Age of the flush lease.', 'gauge', [[base, (report.lease?.ageMs ?? 0) / 1000]])
  const last = report.lastFlush
  metric('wbc_last_flush_duration_seconds', 'Duration of the last flush.', 'gauge', [[base, Number(last?.durationMs ?? 0) / 1000]])
  metric('wbc_last_flush_timestamp_seconds', 'When the last flush started (Unix time).', 'gauge', [[base, Number(last?.startedAt ?? 0) / 1000]])
  metric('wbc_last_flush_ok', 'Whether the last flush applied everything it claimed (1), or not (0).', 'gauge', [[base, last?.status === 'ok' ? 1 : 0]])
  metric(
    'wbc_writes_total',
    'Buffered write calls (rows for inserts) since the state began, per table.',
    'counter',
    metrics.tables.map((t) => [per(t), t.writes]),
  )
  metric(
    'wbc_rows_flushed_total',
    'Rows the flushes changed in the database (applied, not dead-lettered), per table.',
    'counter',
    metrics.tables.map((t) => [per(t), t.flushed]),
  )
  metric(
    'wbc_dead_lettered_total',
    'Entries dead-lettered since the state began, per table.',
    'counter',
    metrics.tables.map((t) => [per(t), t.deadLettered]),
  )
  metric(
    'wbc_flushes_total',
    'Flushes run, per status (ok, partial, skipped: the lease was held).',
    'counter',
    Object.entries(metrics.flushes).map(([status, n]) => [{...base, status}, n]),
  )
  return `${lines.join('\n')}\n`
}

/**
 * What a scrape or the textfile gets when the state cannot be read: `wbc_up 0` and the error as a
 * comment, never the previous figures (they would look current) nor zeros (they would look healthy).
 */
export function downPrometheus(labels: {prefix?: string; driver?: string}, error: string): string {
  const {lines, metric} = exposition()
  const base = Object.fromEntries(Object.entries(labels).filter(([, v]) => v !== undefined)) as Record<string, string>
  lines.push(`# wbc could not read the state: ${error.replace(/[\r\n]+/g, ' ')}`)
  metric('wbc_up', 'Whether wbc could read the state (1), or not (0: the other figures are absent, not zero).', 'gauge', [[base, 0]])
  return `${lines.join('\n')}\n`
}
