import {Flags} from '@oclif/core'

import {BaseCommand} from '../cli/base-command.js'
import {progressLine} from '../ui/progress.js'
import {formatDuration} from '../core/duration.js'
import {ExitCode} from '../core/errors.js'
import {recover, type RecoverResult} from '../core/recover.js'
import {renderPairs} from '../ui/table.js'

export default class Recover extends BaseCommand<typeof Recover> {
  static summary = 'Finish batches a crashed flusher left in flight, or apply a memory-driver checkpoint (wbc’s or ODAC’s).'
  static description = `Idempotent: running it twice applies everything once. Safe to run from cron beside the application.
With the redis driver (or a running memory-driver application) it finishes in-flight batches. With the memory driver and
no application running, it applies the LMDB checkpoint (buffer.checkpointPath, or --checkpoint) to the database.
One process owns a checkpoint at a time (an OS lock on <checkpoint>.lock): while the application or another run holds it,
recover changes nothing and exits 4 (CHECKPOINT_IN_USE); an application started during a run is refused the same way.
Exit codes: 0 done or nothing to do, 4 another process owns that checkpoint, 5 partial, 3 a service is unreachable.`
  static examples = [
    {description: 'From cron every 5 minutes', command: '<%= config.bin %> <%= command.id %> --json'},
    {description: 'Apply an ODAC checkpoint after a crash (the application is down)', command: '<%= config.bin %> <%= command.id %> --config odac.json --checkpoint storage/sessions.db'},
    {description: 'See what would be recovered', command: '<%= config.bin %> <%= command.id %> --dry-run'},
  ]

  static flags = {
    checkpoint: Flags.string({summary: 'The LMDB checkpoint to apply (default: buffer.checkpointPath when no application is running).'}),
    'dry-run': Flags.boolean({summary: 'Only say what would be recovered.'}),
  }

  async run(): Promise<RecoverResult> {
    const loaded = this.loadWbcConfig()
    const progress = progressLine(Boolean(process.stderr.isTTY) && !this.jsonEnabled())
    let result: RecoverResult
    try {
      result = await recover(loaded.config, {checkpointPath: this.flags.checkpoint, dryRun: this.flags['dry-run'], onProgress: progress.update})
    } finally {
      progress.done()
    }
    if (!this.jsonEnabled()) this.print(render(result))
    if (result.report?.status === 'skipped') {
      if (this.jsonEnabled()) this.logJson(result)
      else this.note('the flush lease is held by another live process; it finishes the batches in flight itself')
      this.exit(ExitCode.leaseHeld)
    }
    if (result.report?.status === 'partial') {
      if (this.jsonEnabled()) this.logJson(result)
      this.exit(ExitCode.partial)
    }
    return result
  }
}

function render(result: RecoverResult): string {
  const {found, report} = result
  const pairs: Array<[string, string | number]> = [
    ['mode', result.mode === 'checkpoint' ? `checkpoint ${result.checkpoint}` : 'batches left in flight'],
    ['found', `${found.batches} batches in flight, ${found.counters} counter keys, ${found.updates} update rows, ${found.inserts} queued rows`],
  ]
  if (result.dryRun) pairs.push(['result', 'dry run: nothing applied'])
  else if (report) {
    const applied = report.tables.reduce((n, t) => ({c: n.c + t.counters, u: n.u + t.updates, i: n.i + t.inserts, d: n.d + t.deadLettered}), {c: 0, u: 0, i: 0, d: 0})
    pairs.push(['applied', `${applied.c} counter rows, ${applied.u} updated rows, ${applied.i} inserted rows, ${applied.d} dead-lettered`])
    pairs.push(['result', `${report.status}${report.reason ? ` (${report.reason})` : ''} in ${formatDuration(report.durationMs)}`])
    for (const t of report.tables) if (t.error) pairs.push([`error ${t.connection}:${t.table}`, t.error])
  }
  return renderPairs(pairs)
}
