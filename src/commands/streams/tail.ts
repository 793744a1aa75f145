import {Args, Flags} from '@oclif/core'

import {BaseCommand} from '../../cli/base-command.js'
import {streamKey, tailStream, type TailPage} from '../../core/streams/streams.js'
import {printable} from '../../ui/safe-text.js'

export default class StreamsTail extends BaseCommand<typeof StreamsTail> {
  static summary = 'Read a stream page by page with a cursor (never the whole stream at once); --follow keeps reading new entries.'
  static examples = [
    {description: 'The last 20 events', command: '<%= config.bin %> <%= command.id %> events --cursor -20'},
    {description: 'A queue from the start, 100 at a time', command: '<%= config.bin %> <%= command.id %> q:default:activity_log --limit 100'},
    {description: 'Watch new events as NDJSON', command: '<%= config.bin %> <%= command.id %> events --cursor -1 --follow --json'},
  ]

  static args = {name: Args.string({required: true, description: 'Stream name as `wbc streams` shows it (e.g. events, q:default:posts).'})}
  static flags = {
    limit: Flags.integer({min: 1, max: 10000, default: 100, summary: 'Entries per page.'}),
    cursor: Flags.integer({default: 0, summary: 'Index to start from (a negative one counts from the end).'}),
    follow: Flags.boolean({summary: 'Keep printing new entries until interrupted (JSON: one entry per line).'}),
  }

  async run(): Promise<TailPage | void> {
    return this.withState(async (ipc, loaded) => {
      const key = streamKey(loaded.config.ipc.prefix, this.args.name)
      let page = await tailStream(ipc, key, this.flags.cursor, this.flags.limit)
      if (!this.flags.follow) {
        if (!this.jsonEnabled()) {
          for (const {index, entry} of page.entries) this.print(`${index}\t${printable(JSON.stringify(entry))}`)
          if (page.cursor < page.length) this.note(`more: --cursor ${page.cursor}`)
        }
        return page
      }
      let stop = false
      process.once('SIGINT', () => (stop = true))
      while (!stop) {
        for (const {index, entry} of page.entries) {
          if (this.jsonEnabled()) this.printJsonLine({index, entry})
          else this.print(`${index}\t${printable(JSON.stringify(entry))}`)
        }
        if (page.entries.length === 0) await new Promise((resolve) => setTimeout(resolve, 500))
        page = await tailStream(ipc, key, page.cursor, this.flags.limit).catch(() => ({entries: [], cursor: page.cursor, length: page.length}))
      }
    })
  }
}
