import {Flags} from '@oclif/core'

import {BaseCommand} from '../cli/base-command.js'
import {resolveTargetFlags, targetFlags} from '../cli/target-flags.js'
import {parseDuration} from '../core/duration.js'
import {ExitCode} from '../core/errors.js'
import {breaches, readStatus, type StatusReport, type ThresholdBreach} from '../core/inspect/status.js'
import {renderStatus} from '../ui/status-view.js'

export default class Status extends BaseCommand<typeof Status> {
  static summary = 'Show what is pending per table, the flush lease and the last flush; with thresholds, a health check.'
  static description =
    'A --table or --connection name that is unknown (neither configured, nor in the state, nor in the database) exits 2 with the closest names, so a misspelled health check fails. Exits 6 when a threshold given with --max-pending or --max-age is exceeded (for cron and monitoring), 7 when the state store was found rolled back (flushing is refused until `wbc recover --after-rollback`).'
  static examples = [
    {description: 'Everything pending, as a table', command: '<%= config.bin %> <%= command.id %>'},
    {description: 'One table, as JSON', command: '<%= config.bin %> <%= command.id %> --table posts --json'},
    {description: 'Health check: fail when anything waits longer than 5 minutes or 100000 rows pile up', command: '<%= config.bin %> <%= command.id %> --max-age 5m --max-pending 100000'},
  ]

  static flags = {
    ...targetFlags,
    'max-pending': Flags.integer({min: 0, summary: 'Exit 6 when a table has more pending rows than this.'}),
    'max-age': Flags.string({summary: 'Exit 6 when a table has an entry pending longer than this; with its unit (30s, 5m, 2h), a bare number is refused.'}),
  }

  async run(): Promise<StatusReport & {breaches?: ThresholdBreach[]}> {
    const maxAgeMs = this.flags['max-age'] === undefined ? undefined : parseDuration(this.flags['max-age'], '--max-age')
    const report = await this.withState(async (ipc, loaded) => readStatus(ipc, loaded.config.ipc.prefix, await resolveTargetFlags(ipc, loaded, this.flags)))
    const checked = this.flags['max-pending'] !== undefined || maxAgeMs !== undefined
    const found = checked ? breaches(report, {maxPending: this.flags['max-pending'], maxAgeMs}) : undefined
    if (!this.jsonEnabled()) this.print(renderStatus(report, found, this.style, this.tty))
    const code = report.rollback ? ExitCode.rollback : found && found.length > 0 ? ExitCode.threshold : ExitCode.ok
    return this.finish(code, found ? {...report, breaches: found} : report)
  }
}
