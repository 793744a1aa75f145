import {Flags} from '@oclif/core'

import {BaseCommand} from '../cli/base-command.js'
import {resolveTargetFlags, targetFlags} from '../cli/target-flags.js'
import {readPending, type PendingPage, type PendingType} from '../core/inspect/pending.js'
import {renderTable} from '../ui/table.js'

export default class Pending extends BaseCommand<typeof Pending> {
  static summary = 'List pending entries row by row, a page at a time; values only with --show-values.'
  static examples = [
    {description: 'The first 50 pending entries', command: '<%= config.bin %> <%= command.id %> --limit 50'},
    {description: 'The next page', command: '<%= config.bin %> <%= command.id %> --limit 50 --cursor counter:1234'},
    {description: 'Pending counter deltas of one table, with their values', command: '<%= config.bin %> <%= command.id %> --table posts --type counter --show-values'},
  ]

  static flags = {
    ...targetFlags,
    type: Flags.string({options: ['counter', 'update', 'insert'], summary: 'Only this kind of entry.'}),
    limit: Flags.integer({min: 1, max: 10000, default: 100, summary: 'Entries per page.'}),
    cursor: Flags.string({summary: 'Continue from the cursor a previous page printed.'}),
    'show-values': Flags.boolean({summary: 'Show deltas, field values and rows (they may hold personal data).'}),
  }

  async run(): Promise<PendingPage> {
    return this.withState(async (ipc, loaded) => {
      const page = await readPending(ipc, loaded.config.ipc.prefix, {
        ...(await resolveTargetFlags(ipc, loaded, this.flags)),
        type: this.flags.type as PendingType | undefined,
        limit: this.flags.limit,
        cursor: this.flags.cursor,
        showValues: this.flags['show-values'],
      })
      if (!this.jsonEnabled()) {
        const rows = page.entries.map((e) => [e.type, e.connection, e.table, e.where ?? '', e.column ?? '', ...(this.flags['show-values'] ? [JSON.stringify(e.value ?? null).slice(0, 80)] : [])])
        this.print(page.entries.length === 0 ? 'nothing pending' : renderTable(['type', 'connection', 'table', 'where', 'column', ...(this.flags['show-values'] ? ['value'] : [])], rows, this.tty))
        if (page.cursor) this.note(`more: --cursor ${page.cursor}`)
      }
      return page
    })
  }
}
