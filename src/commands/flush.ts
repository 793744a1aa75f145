import {Flags} from '@oclif/core'

import {BaseCommand} from '../cli/base-command.js'
import {openEngine, openState} from '../cli/context.js'
import {resolveTargetFlags, targetFlags} from '../cli/target-flags.js'
import {progressLine} from '../ui/progress.js'
import type {FlushReport} from '../core/buffer/flusher.js'
import {formatDuration, parseDuration} from '../core/duration.js'
import {ExitCode} from '../core/errors.js'
import {planFlush, type FlushPlan} from '../core/inspect/plan.js'
import {printable} from '../ui/safe-text.js'
import {renderTable} from '../ui/table.js'

export interface FlushResult {
  status: FlushReport['status']
  reason?: string
  tables: Array<{connection: string; table: string; counters: number; updates: number; inserts: number; deadLettered: number; recovered: number; error?: string; unreachable?: boolean}>
  durationMs: number
  fence: number | null
  /** Keys moved to {prefix}:bad:* because their content cannot be flushed. */
  quarantined: Array<{key: string; reason: string}>
  /** Connections that had work but could not be reached (exit 3); their tables are listed with why. */
  unreachable: Array<{connection: string; error: string}>
}

export default class Flush extends BaseCommand<typeof Flush> {
  static summary = 'Flush pending writes to the database now (all tables, or the ones named).'
  static description = `Runs the engine's flush under the flush lease: batches a crashed flusher left in flight are finished first.
Keys whose content cannot be flushed (not a number, wrong type, not JSON, a name that does not parse) are moved to {prefix}:bad:* and named; the rest is flushed.
--table and --connection take several names (repeat the flag, or a comma list); a name that is not an identifier, or that is
neither configured nor in the state nor in the database, is refused (exit 2) with the closest names.
Exit codes: 0 flushed (or nothing to do), 2 a bad or unknown name, 3 a service is unreachable (Redis, or a database that
had work: every table left pending is listed with why), 4 another live process holds the lease (use --wait),
5 partial (dead letters, quarantined keys or batches left in flight).`
  static examples = [
    {description: 'Flush everything', command: '<%= config.bin %> <%= command.id %>'},
    {description: 'Flush one table, waiting up to 30 s for a running flush to finish', command: '<%= config.bin %> <%= command.id %> --table posts --wait 30s'},
    {description: 'Flush two tables', command: '<%= config.bin %> <%= command.id %> --table posts,users'},
    {description: 'See what would be written, and the SQL, without touching anything', command: '<%= config.bin %> <%= command.id %> --dry-run'},
  ]

  static flags = {
    ...targetFlags,
    'dry-run': Flags.boolean({summary: 'Show what would be written and the statements, claim nothing.'}),
    wait: Flags.string({summary: 'When another process holds the lease, wait up to this long (e.g. 30s) for it.'}),
  }

  async run(): Promise<FlushResult | FlushPlan> {
    const waitMs = this.flags.wait === undefined ? 0 : parseDuration(this.flags.wait, '--wait')
    const loaded = this.loadWbcConfig()
    if (this.flags['dry-run']) {
      const ipc = await openState(loaded)
      try {
        const filter = await resolveTargetFlags(ipc, loaded, this.flags)
        const plan = await planFlush(ipc, loaded.config, filter)
        if (!this.jsonEnabled()) this.print(renderPlan(plan, this.tty))
        return plan
      } finally {
        await ipc.close()
      }
    }

    const progress = progressLine(Boolean(process.stderr.isTTY) && !this.jsonEnabled())
    const wb = await openEngine(loaded, {onProgress: progress.update})
    let report: FlushReport
    try {
      const filter = await resolveTargetFlags(wb.ipc, loaded, this.flags, wb.databases)
      const deadline = Date.now() + waitMs
      report = await wb.flush(filter)
      while (report.status === 'skipped' && Date.now() < deadline) {
        if (!this.jsonEnabled()) this.note(`waiting for the lease held by ${report.holder?.host ?? '?'} pid ${report.holder?.pid ?? '?'}…`)
        await new Promise((resolve) => setTimeout(resolve, Math.min(500, Math.max(50, deadline - Date.now()))))
        report = await wb.flush(filter)
      }
    } finally {
      progress.done()
      await wb.disconnect()
    }
    const result: FlushResult = {
      status: report.status,
      ...(report.reason ? {reason: report.reason} : {}),
      tables: report.tables.map(({connection, table, counters, updates, inserts, deadLettered, recovered, error, unreachable}) => ({
        connection,
        table,
        counters,
        updates,
        inserts,
        deadLettered,
        recovered,
        ...(error ? {error} : {}),
        ...(unreachable ? {unreachable} : {}),
      })),
      durationMs: report.durationMs,
      fence: report.fence,
      quarantined: report.quarantined,
      unreachable: report.unreachable ?? [],
    }
    if (report.status === 'skipped') {
      const holder = report.holder
      const who = holder?.legacy ? 'an ODAC process' : `${holder?.host ?? '?'} pid ${holder?.pid ?? '?'}`
      if (this.jsonEnabled()) this.logJson({...result, holder})
      else this.note(`the flush lease is held by ${who} (ttl ${formatDuration(holder?.ttlLeftMs)}); nothing was flushed. Use --wait to let it finish first.`)
      this.exit(ExitCode.leaseHeld)
    }
    if (!this.jsonEnabled()) this.print(renderResult(result, this.tty))
    if (result.unreachable.length > 0) {
      // A database that had work is down: that is an outage (3), not a partial flush (5).
      if (this.jsonEnabled()) this.logJson(result)
      else for (const u of result.unreachable) this.note(`connection ${u.connection} is unreachable (${u.error}); its tables stay pending for the next flush`)
      this.exit(ExitCode.unavailable)
    }
    if (report.status === 'partial') {
      if (this.jsonEnabled()) this.logJson(result)
      this.exit(ExitCode.partial)
    }
    return result
  }
}

function renderResult(result: FlushResult, tty: boolean): string {
  const bad = result.quarantined.map((q) => `quarantined ${printable(q.key)}: ${printable(q.reason)}`)
  if (result.tables.length === 0) return [...bad, `nothing to flush (${formatDuration(result.durationMs)}, fence ${result.fence ?? '-'})`].join('\n')
  const rows = result.tables.map((t) => [t.connection, t.table, t.counters, t.updates, t.inserts, t.deadLettered, t.recovered, t.error ?? ''])
  return [
    renderTable(['connection', 'table', 'counter rows', 'updated rows', 'inserted rows', 'dead-lettered', 'recovered batches', 'error'], rows, tty),
    ...bad,
    `${result.status} in ${formatDuration(result.durationMs)}, fence ${result.fence ?? '-'}`,
  ].join('\n')
}

function renderPlan(plan: FlushPlan, tty: boolean): string {
  if (plan.tables.length === 0) return 'nothing to flush'
  const rows = plan.tables.map((t) => [t.connection, t.table, t.counters.rows, t.updates.rows, t.inserts.rows, t.inflight.batches])
  const statements = plan.tables.flatMap((t) => [
    ...(t.error ? [`-- ${printable(t.connection)}:${printable(t.table)}: statements unknown (${printable(t.error)})`] : []),
    ...t.statements.map((s) => {
      const runs = `${s.times > 1 ? `runs ${s.times} times, ` : ''}${s.bindings} bound values${s.conditional ? ', only if the UPDATEs changed fewer rows than entries' : ''}`
      return `-- ${printable(t.connection)}:${printable(t.table)} ${s.kind} (${runs})\n${s.sql.split('\n').map((line) => printable(line)).join('\n')};`
    }),
  ])
  return [renderTable(['connection', 'table', 'counter rows', 'update rows', 'queued inserts', 'in flight'], rows, tty), '', ...statements, '', '(dry run: nothing was claimed or written)'].join('\n')
}
