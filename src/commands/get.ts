import {Args} from '@oclif/core'

import {BaseCommand} from '../cli/base-command.js'
import {openEngine} from '../cli/context.js'
import {counterMember, encodeWhere} from '../core/buffer/keys.js'
import {InvalidArgument} from '../core/errors.js'
import {renderPairs} from '../ui/table.js'

export interface CounterView {
  table: string
  where: string
  column: string
  base: number
  inflight: number
  pending: number
  total: number
}

export default class Get extends BaseCommand<typeof Get> {
  static summary = 'Show a counter: its DB base, the delta in flight, the pending delta and the total.'
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
      const row = wb.table(this.args.table).where(where as never)
      const total = await row.get(this.args.column)
      const member = counterMember('default', this.args.table, encodeWhere(where, loaded.config.buffer.primaryKey), this.args.column)
      const reading = await wb.ipc.steps.readCounter(wb.prefix, member)
      const inflight = Object.values(reading.inflight).reduce((a, b) => a + b, 0)
      const view: CounterView = {table: this.args.table, where: row.where, column: this.args.column, base: total - inflight - reading.live, inflight, pending: reading.live, total}
      if (!this.jsonEnabled()) {
        this.print(renderPairs([['db base', view.base], ['in flight', view.inflight], ['pending', view.pending], ['total', view.total]]))
      }
      return view
    } finally {
      await wb.disconnect()
    }
  }
}
