import {formatDuration} from '../core/duration.js'
import type {StatusReport, ThresholdBreach} from '../core/inspect/status.js'
import type {Style} from './style.js'
import {printable, rendered} from './safe-text.js'
import {renderPairs, renderTable} from './table.js'

export function renderStatus(report: StatusReport, found: ThresholdBreach[] | undefined, style: Style, tty: boolean): string {
  const lease = report.lease
  const last = report.lastFlush
  const lines = [
    renderPairs([
      ['driver', `${report.driver} (${report.target}), prefix ${report.prefix}`],
      [
        'lease',
        lease
          ? `${lease.owner === null ? 'held by an ODAC process (owner unknown)' : `held by ${lease.host ?? '?'} pid ${lease.pid ?? '?'}`}, age ${formatDuration(lease.ageMs)}, ttl ${formatDuration(lease.ttlMs)}, fence ${lease.fence ?? '-'}`
          : 'free',
      ],
      ['last flush', last ? `${new Date(Number(last.startedAt)).toISOString()} ${String(last.status)} in ${formatDuration(Number(last.durationMs))}` : 'none recorded'],
    ]),
    '',
  ]
  if (report.rollback) {
    const r = report.rollback
    lines.push(
      style.red(`STATE STORE ROLLED BACK (found ${new Date(r.at).toISOString()}, database "${printable(r.connection)}"): ${printable(r.reason)}.`),
      style.red('Flushing is refused: what is pending may already be in the database. Decide with `wbc recover --after-rollback`.'),
      '',
    )
  }
  if (report.tables.length === 0) lines.push('nothing pending')
  else {
    const rows = report.tables.map((t) => [
      t.connection,
      t.table,
      `${t.counters.rows} (${t.counters.keys})`,
      t.updates.rows,
      t.inserts.rows,
      t.inflight.batches,
      t.deadLetters > 0 ? rendered(style.red(String(t.deadLetters))) : 0,
      formatDuration(t.oldestPendingMs),
    ])
    lines.push(renderTable(['connection', 'table', 'counter rows (keys)', 'update rows', 'queued inserts', 'in flight', 'dead letters', 'oldest'], rows, tty))
    for (const t of report.tables) {
      if (t.blocked) lines.push(style.red(`blocked: ${t.connection}:${t.table} since ${t.blocked.at ? new Date(t.blocked.at).toISOString() : '?'}: ${t.blocked.reason}`))
    }
  }
  if (report.badKeysTotal > 0) {
    lines.push('', style.red(`${report.badKeysTotal} bad key(s) (see wbc doctor):`))
    for (const b of report.badKeys.slice(0, 10)) lines.push(`  ${printable(b.key)}: ${printable(b.problem)}`)
    if (report.badKeysTotal > 10) lines.push(`  … and ${report.badKeysTotal - 10} more (--json lists up to 100)`)
  }
  if (found && found.length > 0) {
    lines.push('', style.red('thresholds exceeded:'))
    for (const b of found) {
      const value = b.check === 'max-age' ? `${formatDuration(b.value)} > ${formatDuration(b.limit)}` : `${b.value} > ${b.limit}`
      lines.push(`  ${printable(b.connection)}:${printable(b.table)} ${b.check} ${value}`)
    }
  } else if (found) lines.push('', style.green('all thresholds met'))
  return lines.join('\n')
}
