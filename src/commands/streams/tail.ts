import {Args, Flags} from '@oclif/core'

import {BaseCommand} from '../../cli/base-command.js'
import {StreamFollower, streamKey, tailStream, type TailPage} from '../../core/streams/streams.js'
import {printable} from '../../ui/safe-text.js'

export default class StreamsTail extends BaseCommand<typeof StreamsTail> {
  static summary = 'The newest entries of a stream (like tail(1)), or a page from --cursor; --follow keeps printing new entries.'
  static description = `Without --cursor: the newest --limit entries. With --cursor: a page from that index (0 the oldest, a negative one
counts from the end); the next page's cursor is printed on stderr (in the JSON: cursor).
--follow waits for a stream that is empty or does not exist yet, and keeps up with one trimmed or claimed from the head
(the event stream, an insert queue); under --json it prints one JSON line per entry (NDJSON).`
  static examples = [
    {description: 'The last 20 events', command: '<%= config.bin %> <%= command.id %> events --limit 20'},
    {description: 'A queue from the start, 100 at a time', command: '<%= config.bin %> <%= command.id %> q:default:activity_log --cursor 0 --limit 100'},
    {description: 'Watch new events as NDJSON', command: '<%= config.bin %> <%= command.id %> events --limit 1 --follow --json'},
  ]

  static args = {name: Args.string({required: true, description: 'Stream name as `wbc streams` shows it (e.g. events, q:default:posts).'})}
  static flags = {
    limit: Flags.integer({min: 1, max: 10000, default: 100, summary: 'Entries per page (without --cursor: the newest this many).'}),
    cursor: Flags.integer({summary: 'Index to start from: 0 the oldest, a negative one counts from the end. Default: the newest --limit.'}),
    follow: Flags.boolean({char: 'f', summary: 'Keep printing new entries until interrupted (JSON: one entry per line); waits for an empty or missing stream.'}),
  }

  async run(): Promise<TailPage | void> {
    const start = this.flags.cursor ?? -this.flags.limit
    return this.withState(async (ipc, loaded) => {
      const key = streamKey(loaded.config.ipc.prefix, this.args.name)
      if (!this.flags.follow) {
        const page = await tailStream(ipc, key, start, this.flags.limit)
        if (!this.jsonEnabled()) {
          for (const {index, entry} of page.entries) this.print(`${index}\t${printable(JSON.stringify(entry))}`)
          const first = page.entries[0]?.index ?? page.cursor
          if (page.cursor < page.length) this.note(`more: --cursor ${page.cursor}`)
          else if (this.flags.cursor === undefined && first > 0) this.note(`${first} older: --cursor 0 reads from the oldest`)
        }
        return page
      }
      const follower = new StreamFollower(ipc, key, start, this.flags.limit)
      let stop = false
      const interrupt = () => (stop = true)
      process.once('SIGINT', interrupt)
      process.once('SIGTERM', interrupt)
      let first = true
      try {
        while (!stop) {
          const step = await follower.next().catch((error: Error & {exitCode?: number}) => {
            // A stream of another type is a usage error; an outage waits for the store to return.
            if (error.exitCode === 2) throw error
            return {entries: [], lost: false, length: -1}
          })
          if (first && step.length === 0) this.note(`${this.args.name} is empty or does not exist yet: waiting for entries (Ctrl-C stops)`)
          first = false
          if (step.lost) this.note('entries went from the head of the stream before they could be read; continuing with the newest')
          for (const {index, entry} of step.entries) {
            if (this.jsonEnabled()) this.printJsonLine({index, entry})
            else this.print(`${index}\t${printable(JSON.stringify(entry))}`)
          }
          if (step.entries.length < this.flags.limit) await new Promise((resolve) => setTimeout(resolve, 500))
        }
      } finally {
        process.off('SIGINT', interrupt)
        process.off('SIGTERM', interrupt)
      }
    })
  }
}
