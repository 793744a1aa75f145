import {BaseCommand} from '../../cli/base-command.js'
import {formatDuration} from '../../core/duration.js'
import type {StreamPolicy} from '../../core/streams/policy.js'
import {listStreams, type StreamInfo} from '../../core/streams/streams.js'
import {renderTable} from '../../ui/table.js'

const describePolicy = (p: StreamPolicy | null) =>
  !p
    ? 'none'
    : [p.keepKey && `keep-key ${p.keepKey}`, p.maxCount !== undefined && `max-count ${p.maxCount}`, p.maxAgeMs !== undefined && `max-age ${formatDuration(p.maxAgeMs)}`].filter(Boolean).join(', ') ||
      'none'

export default class Streams extends BaseCommand<typeof Streams> {
  static summary = 'List every stream under the prefix: insert queues, the event stream, other lists.'
  static description = 'Per stream: kind, length, age of the oldest and newest entry (from their `at` field), approximate bytes and the compaction policy in force.'
  static examples = [
    {description: 'All streams', command: '<%= config.bin %> <%= command.id %>'},
    {description: 'As JSON for a script', command: '<%= config.bin %> <%= command.id %> --json'},
  ]

  async run(): Promise<{streams: StreamInfo[]}> {
    return this.withState(async (ipc, loaded) => {
      const streams = await listStreams(ipc, loaded.config.ipc.prefix, loaded.config.streams)
      if (!this.jsonEnabled()) {
        const rows = streams.map((s) => [s.name, s.kind, s.length, formatDuration(s.oldestAgeMs), formatDuration(s.newestAgeMs), s.approxBytes, describePolicy(s.policy)])
        this.print(streams.length === 0 ? 'no streams' : renderTable(['name', 'kind', 'length', 'oldest', 'newest', '~bytes', 'policy'], rows, this.tty))
      }
      return {streams}
    })
  }
}
