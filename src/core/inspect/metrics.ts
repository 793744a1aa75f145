import type {StatusReport} from './status.js'

const escape = (value: string) => value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')

/** The figures of `wbc status` in Prometheus text exposition format (0.0.4). */
export function toPrometheus(report: StatusReport): string {
  const lines: string[] = []
  const metric = (name: string, help: string, type: 'gauge', samples: Array<[Record<string, string>, number]>) => {
    lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`)
    for (const [labels, value] of samples) {
      const text = Object.entries(labels)
        .map(([k, v]) => `${k}="${escape(v)}"`)
        .join(',')
      lines.push(`${name}${text ? `{${text}}` : ''} ${Number.isFinite(value) ? value : 0}`)
    }
  }
  const base = {prefix: report.prefix, driver: report.driver}
  const per = (t: StatusReport['tables'][number]) => ({...base, connection: t.connection, table: t.table})
  metric('wbc_pending_rows', 'Rows with pending writes, per table and type.', 'gauge', report.tables.flatMap((t) => [
    [{...per(t), type: 'counter'}, t.counters.rows],
    [{...per(t), type: 'update'}, t.updates.rows],
    [{...per(t), type: 'insert'}, t.inserts.rows],
  ] as Array<[Record<string, string>, number]>))
  metric('wbc_pending_counter_keys', 'Pending counter keys (row, column), per table.', 'gauge', report.tables.map((t) => [per(t), t.counters.keys]))
  metric('wbc_oldest_pending_seconds', 'Age of the oldest pending or in-flight entry, per table.', 'gauge', report.tables.map((t) => [per(t), (t.oldestPendingMs ?? 0) / 1000]))
  metric('wbc_inflight_batches', 'Batches claimed but not yet acknowledged, per table.', 'gauge', report.tables.map((t) => [per(t), t.inflight.batches]))
  metric('wbc_dead_letters', 'Entries the database refused, per table.', 'gauge', report.tables.map((t) => [per(t), t.deadLetters]))
  metric('wbc_lease_held', 'Whether the flush lease is held.', 'gauge', [[base, report.lease ? 1 : 0]])
  metric('wbc_lease_age_seconds', 'Age of the flush lease.', 'gauge', [[base, (report.lease?.ageMs ?? 0) / 1000]])
  const last = report.lastFlush
  metric('wbc_last_flush_duration_seconds', 'Duration of the last flush.', 'gauge', [[base, Number(last?.durationMs ?? 0) / 1000]])
  metric('wbc_last_flush_timestamp_seconds', 'When the last flush started (Unix time).', 'gauge', [[base, Number(last?.startedAt ?? 0) / 1000]])
  metric('wbc_last_flush_ok', 'Whether the last flush applied everything it claimed (1), or not (0).', 'gauge', [[base, last?.status === 'ok' ? 1 : 0]])
  return `${lines.join('\n')}\n`
}
