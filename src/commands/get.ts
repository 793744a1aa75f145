import {Args} from '@oclif/core'

import {BaseCommand} from '../cli/base-command.js'
import {openEngine} from '../cli/context.js'
import {formatDuration} from '../core/duration.js'
import {InvalidArgument} from '../core/errors.js'
import {readCounterView, type CounterView} from '../core/inspect/counter-view.js'
import {renderPairs} from '../ui/table.js'

export type {CounterView}

export default class Get extends BaseCommand<typeof Get> {
  static summary = 'Show a counter: its DB base, the delta in flight, the pending delta and the total.'
  static description = `A base cached from the database answers without it; it is marked "cached" with its greatest age, and when the
database cannot be read that is said too (JSON: baseSource, baseMaxAgeMs, databaseError). Without a cached base, a
database that cannot be reached exits 3; a table it does not have exits 2 with the closest names.`
  static examples = [
    {description: 'Views of post 42', command: '<%= config.bin %> <%= command.id %> posts 42 views'},
    {description: 'A composite key', command: `<%= config.bin %> <%= command.id %> post_stats '{"post_id":1,"date":"2026-04-01"}' views --json`},
  ]

  static args = {
    table: Args.string({required: true, description: 'Table name.'}),
    where: Args.string({required: true, description: 'Primary key value, or a JSON object of key columns.'}),
    column: Args.string({required: true, description: 'Counter column.'}),
  }

  async run(): Promise<CounterView> {
    const loaded = this.loadWbcConfig()
    let where: unknown = this.args.where
    if (this.args.where.startsWith('{')) {
      try {
        where = JSON.parse(this.args.where)
      } catch {
        throw new InvalidArgument('where', `"${this.args.where}" is not valid JSON`, `Quote it for the shell: '{"post_id":1}'.`)
      }
    }
    const wb = await openEngine(loaded)
    try {
      const view = await readCounterView(wb, loaded.config, this.args.table, where, this.args.column)
      if (!this.jsonEnabled()) {
        const cached = view.baseSource === 'cache' ? ` (cached, at most ${formatDuration(view.baseMaxAgeMs)} old${view.databaseError ? '; the database is unreachable' : ''})` : ''
        this.print(
          renderPairs([
            ['db base', `${view.base}${cached}`],
            ['in flight', view.inflight],
            ['pending', view.pending],
            ['total', view.total],
          ]),
        )
        if (view.databaseError) this.note(`the database cannot be read (${view.databaseError}): the base is the cached copy`)
      }
      return view
    } finally {
      await wb.disconnect()
    }
  }
}
