import {BaseCommand} from '../../cli/base-command.js'
import {deadLetterFlags, requireExistingIds, requireSelection, selectedTables, selectionFlags} from '../../cli/dead-letter-target.js'
import {resolveTargetFlags} from '../../cli/target-flags.js'
import {DeadLetters, ledgerLookup, type RetryResult} from '../../core/buffer/dead-letters.js'
import {ExitCode} from '../../core/errors.js'
import {Databases} from '../../core/sql/databases.js'
import {printable} from '../../ui/safe-text.js'

export default class DeadletterRetry extends BaseCommand<typeof DeadletterRetry> {
  static summary = 'Put dead letters back into the buffer; the next flush tries them again.'
  static description = `A dead letter whose entry the ledger shows applied is removed instead (retrying it would apply it twice);
one whose batch is still in flight is left alone until the next flush or \`wbc recover\` finishes that batch (exit 5).
An update's columns written since it was dead-lettered and still pending keep their newer value.`
  static examples = [
    {description: 'Retry one after fixing its cause', command: '<%= config.bin %> <%= command.id %> --table activity_log --id 0mx1a2b3c-9f8e7d6c5b:617'},
    {description: 'Retry all of a table', command: '<%= config.bin %> <%= command.id %> --table activity_log --all'},
  ]

  static flags = {...deadLetterFlags, ...selectionFlags}

  async run(): Promise<{retried: number; ids: string[]; alreadyApplied: string[]; inFlight: string[]}> {
    const ids = requireSelection(this.flags)
    const result = await this.withState(async (ipc, loaded) => {
      const dbs = new Databases(loaded.config.connections)
      try {
        const letters = new DeadLetters(ipc, loaded.config.ipc.prefix, loaded.config.buffer.primaryKey, ledgerLookup(dbs))
        const total: RetryResult = {retried: [], alreadyApplied: [], inFlight: []}
        const tables = await selectedTables(letters, await resolveTargetFlags(ipc, loaded, this.flags, dbs))
        await requireExistingIds(letters, tables, ids)
        for (const t of tables) {
          const one = await letters.retry(t.connection, t.table, ids)
          total.retried.push(...one.retried)
          total.alreadyApplied.push(...one.alreadyApplied)
          total.inFlight.push(...one.inFlight)
        }
        return total
      } finally {
        await dbs.close()
      }
    })
    const n = result.retried.length
    if (!this.jsonEnabled()) {
      this.print(`${n} dead letter${n === 1 ? '' : 's'} put back into the buffer`)
      if (result.alreadyApplied.length > 0)
        this.print(`${result.alreadyApplied.length} removed: the ledger shows them applied already (${result.alreadyApplied.map((id) => printable(id)).join(', ')})`)
      if (result.inFlight.length > 0)
        this.note(`${result.inFlight.length} left alone: their batch is still in flight; run \`wbc recover\` (or wait for the next flush), then retry (${result.inFlight.join(', ')})`)
    }
    const out = {retried: n, ids: result.retried, alreadyApplied: result.alreadyApplied, inFlight: result.inFlight}
    return this.finish(result.inFlight.length > 0 ? ExitCode.partial : ExitCode.ok, out)
  }
}
