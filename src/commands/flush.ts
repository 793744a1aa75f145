import {Flags} from '@oclif/core'

import {BaseCommand} from '../cli/base-command.js'
import {openEngine, openState} from '../cli/context.js'
import {resolveTargetFlags, targetFlags} from '../cli/target-flags.js'
import {abortOnSignals} from '../cli/interrupt.js'
import {progressDisplay, progressMode} from '../ui/progress.js'
import type {FlushReport} from '../core/buffer/flusher.js'
import {flushResultOf, type FlushResult} from '../core/buffer/flush-result.js'
import {flushWhenLeaseFree} from '../core/buffer/wait-for-lease.js'
import {formatDuration, parseDuration} from '../core/duration.js'
import {holderText, leaseHeldMessage} from '../ui/lease-advice.js'
import {ExitCode} from '../core/errors.js'
import {planFlush, type FlushPlan} from '../core/inspect/plan.js'
import {printable} from '../ui/safe-text.js'
import {renderTable} from '../ui/table.js'

export type {FlushResult}

export default class Flush extends BaseCommand<typeof Flush> {
  static summary = 'Flush pending writes to the database now (all tables, or the ones named).'
  static description = `Runs the engine's flush under the flush lease: batches a crashed flusher left in flight are finished first.
Keys whose content cannot be flushed (not a number, wrong type, not JSON, a name that does not parse) are moved to {prefix}:bad:* and named; the rest is flushed.
--table and --connection take several names (repeat the flag, or a comma list); a name that is not an identifier, or that is
neither configured nor in the state nor in the database, is refused (exit 2) with the closest names.
A lease held by a process of this host that is gone (killed, crashed) is taken over at once.
Progress goes to stderr: one line updated in place on a terminal; piped, one note when it starts waiting for the lease.
Ctrl-C (SIGINT) or SIGTERM stops it cleanly: the open transaction is rolled back, the lease released, and what was
left in flight is named (the next flush or \`wbc recover\` finishes it).
Exit codes: 0 flushed (or nothing to do), 2 a bad or unknown name, 3 a service is unreachable (Redis, or a database that
had work: every table left pending is listed with why), 4 another live process holds the lease (use --wait),
5 partial (dead letters, quarantined keys or batches left in flight), 130 interrupted (SIGINT), 143 terminated (SIGTERM).`
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

    // Installed first: a signal while connecting stops the flush before it takes the lease.
    const interrupt = abortOnSignals()
    const progress = progressDisplay(progressMode(this.jsonEnabled()))
    let report: FlushReport
    try {
      const wb = await openEngine(loaded, {onProgress: progress.update})
      try {
        const filter = await resolveTargetFlags(wb.ipc, loaded, this.flags, wb.databases)
        report = await flushWhenLeaseFree((f) => wb.flush(f), {...filter, signal: interrupt.signal}, {waitMs, onWait: progress.waiting})
      } finally {
        progress.done()
        await wb.disconnect()
      }
    } finally {
      interrupt.dispose()
    }
    const result = flushResultOf(report)
    if (report.status === 'skipped') {
      const holder = report.holder
      return this.finish(ExitCode.leaseHeld, {...result, holder}, () => this.note(leaseHeldMessage(holder, waitMs > 0 ? (this.flags.wait ?? null) : null)))
    }
    if (report.tookOverFrom && !this.jsonEnabled()) this.note(`took the flush lease over from ${holderText(report.tookOverFrom)}, which is no longer running`)
    if (!this.jsonEnabled()) this.print(renderResult(result, this.tty))
    if (result.unreachable.length > 0) {
      // A database that had work is down: that is an outage (3), not a partial flush (5).
      return this.finish(ExitCode.unavailable, result, () => {
        for (const u of result.unreachable) this.note(`connection ${u.connection} is unreachable (${u.error}); its tables stay pending for the next flush`)
      })
    }
    return this.finish(report.status === 'partial' ? ExitCode.partial : ExitCode.ok, result)
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
      return `-- ${printable(t.connection)}:${printable(t.table)} ${s.kind} (${runs})\n${s.sql
        .split('\n')
        .map((line) => printable(line))
        .join('\n')};`
    }),
  ])
  return [renderTable(['connection', 'table', 'counter rows', 'update rows', 'queued inserts', 'in flight'], rows, tty), '', ...statements, '', '(dry run: nothing was claimed or written)'].join('\n')
}
