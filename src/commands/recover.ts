import {Flags} from '@oclif/core'

import {BaseCommand} from '../cli/base-command.js'
import {confirm} from '../cli/confirm.js'
import {abortOnSignals} from '../cli/interrupt.js'
import {progressDisplay, progressMode} from '../ui/progress.js'
import {formatDuration, parseDuration} from '../core/duration.js'
import {leaseHeldMessage} from '../ui/lease-advice.js'
import {ExitCode} from '../core/errors.js'
import {recover, type RecoverResult} from '../core/recover.js'
import {assessRollback, resyncAfterRollback, type RollbackAssessment} from '../core/recover-rollback.js'
import {printable} from '../ui/safe-text.js'
import {renderPairs} from '../ui/table.js'

export interface AfterRollbackResult {
  mode: 'after-rollback'
  dryRun: boolean
  assessment: RollbackAssessment
  /** The new epoch and fence once flushing resumed; null when nothing was changed. */
  resynced: {epoch: string; fence: number} | null
}

export default class Recover extends BaseCommand<typeof Recover> {
  static summary = 'Finish batches a crashed flusher left in flight, apply a memory-driver checkpoint (wbc’s or ODAC’s), or resume after the state store rolled back.'
  static description = `Idempotent: running it twice applies everything once. Safe to run from cron beside the application.
With the redis driver (or a running memory-driver application) it finishes in-flight batches. With the memory driver and
no application running, it applies the LMDB checkpoint (buffer.checkpointPath, or --checkpoint) to the database.
One process owns a checkpoint at a time (an OS lock on <checkpoint>.lock): while the application or another run holds it,
recover changes nothing and exits 4 (CHECKPOINT_IN_USE); an application started during a run is refused the same way.
A backup (--checkpoint PATH other than the application's own) is refused when a flush has committed since it was
exported, or when it has no export record, since its writes may be in the database already: --force applies it anyway.
--after-rollback: when a flush refused because the state store came back older than the database (exit 7), shows what
is pending — it may be applied again — and, confirmed (--yes), makes the store current so flushing resumes.
Progress goes to stderr (one line updated in place on a terminal). Ctrl-C (SIGINT) or SIGTERM stops it cleanly: the open
transaction is rolled back, the lease released, what is left in flight named; the next run finishes it.
Exit codes: 0 done or nothing to do, 2 a backup the database moved past (or of unknown age) without --force, 4 another
process owns that checkpoint (or holds the flush lease), 5 partial, 3 a service is unreachable (Redis, or a database with
batches to finish: every table left is listed with why), 7 a rollback found (--after-rollback --dry-run), 130 interrupted
(SIGINT), 143 terminated (SIGTERM).`
  static examples = [
    {description: 'From cron every 5 minutes', command: '<%= config.bin %> <%= command.id %> --json'},
    {description: 'Apply an ODAC checkpoint after a crash (the application is down)', command: '<%= config.bin %> <%= command.id %> --config odac.json --checkpoint storage/sessions.db'},
    {description: 'See what would be recovered', command: '<%= config.bin %> <%= command.id %> --dry-run'},
    {
      description: 'After exit 7: see what may be applied again, then resume flushing',
      command: '<%= config.bin %> <%= command.id %> --after-rollback --dry-run && <%= config.bin %> <%= command.id %> --after-rollback --yes',
    },
  ]

  static flags = {
    checkpoint: Flags.string({summary: 'The LMDB checkpoint to apply (default: buffer.checkpointPath when no application is running).'}),
    'dry-run': Flags.boolean({summary: 'Only say what would be recovered.'}),
    force: Flags.boolean({summary: 'Apply a backup checkpoint even though the database may have its writes already.'}),
    'after-rollback': Flags.boolean({summary: 'The state store was found behind the database: show what may be applied again and (confirmed) resume flushing.', exclusive: ['checkpoint']}),
    yes: Flags.boolean({summary: 'Confirm --after-rollback without asking.'}),
    wait: Flags.string({summary: 'When another live process holds the flush lease, wait up to this long (e.g. 30s) for it.'}),
  }

  async run(): Promise<RecoverResult | AfterRollbackResult> {
    if (this.flags['after-rollback']) return this.afterRollback()
    const waitMs = this.flags.wait === undefined ? 0 : parseDuration(this.flags.wait, '--wait')
    const loaded = this.loadWbcConfig()
    const progress = progressDisplay(progressMode(this.jsonEnabled()))
    const interrupt = abortOnSignals()
    let result: RecoverResult
    try {
      result = await recover(loaded.config, {
        checkpointPath: this.flags.checkpoint,
        dryRun: this.flags['dry-run'],
        force: this.flags.force,
        onProgress: progress.update,
        signal: interrupt.signal,
        waitMs,
        onWait: progress.waiting,
      })
    } finally {
      progress.done()
      interrupt.dispose()
    }
    if (!this.jsonEnabled()) this.print(render(result))
    const report = result.report
    if (report?.status === 'skipped') {
      return this.finish(ExitCode.leaseHeld, result, () => this.note(leaseHeldMessage(report.holder, waitMs > 0 ? (this.flags.wait ?? null) : null, 'nothing was recovered')))
    }
    const unreachable = report?.unreachable ?? []
    if (unreachable.length > 0) {
      // A database that had batches to finish is down: an outage (3), not a partial recovery (5).
      return this.finish(ExitCode.unavailable, result, () => {
        for (const u of unreachable) this.note(`connection ${u.connection} is unreachable (${u.error}); its batches stay in flight: run recover again once it is up`)
      })
    }
    return this.finish(report?.status === 'partial' ? ExitCode.partial : ExitCode.ok, result)
  }

  private async afterRollback(): Promise<AfterRollbackResult> {
    return this.withState(async (ipc, loaded) => {
      const assessment = await assessRollback(loaded.config, ipc)
      if (!this.jsonEnabled()) this.print(renderAssessment(assessment))
      const dryRun = this.flags['dry-run']
      if (!assessment.rolledBack || dryRun) {
        const result: AfterRollbackResult = {mode: 'after-rollback', dryRun, assessment, resynced: null}
        if (!assessment.rolledBack && !this.jsonEnabled()) this.print('no rollback found: nothing to do')
        if (assessment.rolledBack) return this.finish(ExitCode.rollback, result, () => this.print('dry run: nothing changed'))
        return result
      }
      await confirm('Resume flushing? Everything pending above will be applied, including writes the database may have already', this.flags.yes)
      const resynced = await resyncAfterRollback(loaded.config, ipc)
      if (!this.jsonEnabled()) this.print(`flushing resumes: the store is current again (epoch ${printable(resynced.epoch)}, fence ${resynced.fence})`)
      return {mode: 'after-rollback', dryRun: false, assessment, resynced}
    })
  }
}

function renderAssessment(a: RollbackAssessment): string {
  const pairs: Array<[string, string | number]> = []
  if (a.flagged) pairs.push(['found', `${new Date(a.flagged.at).toISOString()} by a flush (database "${a.flagged.connection}"): ${a.flagged.reason}`])
  pairs.push(['store', `epoch ${a.store.epoch ?? 'none'}, fence counter ${a.store.fence}${a.store.pending ? ', holds pending writes' : ', nothing pending'}`])
  for (const d of a.databases) {
    pairs.push([`database ${d.connection}`, d.error ? `unreadable: ${d.error}` : `epoch ${d.epoch ?? 'none'}, fence ${d.fence ?? 'none'}${d.behind ? ` — the store is behind: ${d.behind}` : ''}`])
  }
  const pending = a.pending.filter((t) => t.counters.keys + t.updates.rows + t.inserts.rows + t.inflight.batches > 0)
  if (pending.length === 0) pairs.push(['pending', 'nothing'])
  for (const t of pending) {
    pairs.push([
      `may apply again ${t.connection}:${t.table}`,
      `${t.counters.keys} counter keys (${t.counters.rows} rows), ${t.updates.rows} update rows, ${t.inserts.rows} queued rows, ${t.inflight.batches} batches in flight`,
    ])
  }
  return renderPairs(pairs)
}

function render(result: RecoverResult): string {
  const {found, report} = result
  const pairs: Array<[string, string | number]> = [
    ['mode', result.mode === 'checkpoint' ? `checkpoint ${result.checkpoint}` : 'batches left in flight'],
    ['found', `${found.batches} batches in flight, ${found.counters} counter keys, ${found.updates} update rows, ${found.inserts} queued rows`],
  ]
  if (result.inProgress) {
    const {batches, host, pid} = result.inProgress
    pairs.push(['in progress', `${batches} batches being flushed by ${host ?? '?'} pid ${pid ?? '?'}, which holds the flush lease and finishes them itself: not left behind`])
  }
  if (result.backup) {
    const warn = result.backup.verdict === 'moved-past' || result.backup.verdict === 'unknown'
    pairs.push(['backup', `${warn ? 'WARNING: ' : ''}${result.backup.detail}${warn ? (result.dryRun ? ' — applying it is refused without --force' : ' — applied because of --force') : ''}`])
  }
  if (result.dryRun) pairs.push(['result', 'dry run: nothing applied'])
  else if (report) {
    const applied = report.tables.reduce((n, t) => ({c: n.c + t.counters, u: n.u + t.updates, i: n.i + t.inserts, d: n.d + t.deadLettered}), {c: 0, u: 0, i: 0, d: 0})
    pairs.push(['applied', `${applied.c} counter rows, ${applied.u} updated rows, ${applied.i} inserted rows, ${applied.d} dead-lettered`])
    pairs.push(['result', `${report.status}${report.reason ? ` (${report.reason})` : ''} in ${formatDuration(report.durationMs)}`])
    for (const t of report.tables) if (t.error) pairs.push([`error ${t.connection}:${t.table}`, t.error])
  }
  return renderPairs(pairs)
}
