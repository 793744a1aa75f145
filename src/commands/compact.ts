import {Args, Flags} from '@oclif/core'

import {BaseCommand} from '../cli/base-command.js'
import {confirm} from '../cli/confirm.js'
import {parseDuration} from '../core/duration.js'
import {compactStream, type CompactResult} from '../core/streams/compact.js'
import {policyFor, type StreamPolicy} from '../core/streams/policy.js'
import {parseTableMember} from '../core/buffer/keys.js'
import {resolveTargets} from '../core/inspect/resolve-targets.js'
import {requireStream} from '../core/streams/require-stream.js'
import {kindOf, streamKey} from '../core/streams/streams.js'
import {renderPairs} from '../ui/table.js'

export default class Compact extends BaseCommand<typeof Compact> {
  static summary = 'Compact a stream: keep the newest entry per key, the newest N, or the entries younger than an age.'
  static description = `Entries appended while it runs are never lost. Without rules on the command line, the stream's configured policy applies.
An insert queue holds rows meant for the database: compacting one needs --archive FILE (NDJSON of every removed row) or an explicit --yes.
Exit codes: 0 done, 2 no such stream (the closest names are given), no rule or no confirmation, 5 the head of the stream changed meanwhile (run again).`
  static examples = [
    {description: 'Keep the newest 1000 events', command: '<%= config.bin %> <%= command.id %> events --max-count 1000'},
    {description: 'One row per user in a queue, the removed rows archived', command: '<%= config.bin %> <%= command.id %> q:default:last_seen --keep-key user_id --archive removed.ndjson'},
    {description: 'See what would go', command: '<%= config.bin %> <%= command.id %> events --max-age 7d --dry-run'},
  ]

  static args = {name: Args.string({required: true, description: 'Stream name as `wbc streams` shows it.'})}
  static flags = {
    'keep-key': Flags.string({summary: 'Keep only the newest entry for each value of this field.'}),
    'max-count': Flags.integer({min: 0, summary: 'Keep the newest N entries.'}),
    'max-age': Flags.string({summary: 'Remove entries older than this (from their `at` field); with its unit, e.g. 12h or 7d.'}),
    'dry-run': Flags.boolean({summary: 'Count what would be removed; change nothing.'}),
    archive: Flags.string({summary: 'Append every removed entry to this NDJSON file first.'}),
    yes: Flags.boolean({char: 'y', summary: 'Confirm removing rows of an insert queue without an archive.'}),
  }

  async run(): Promise<CompactResult> {
    // A mistyped age is a usage error before any service is asked.
    const maxAgeMs = this.flags['max-age'] === undefined ? undefined : parseDuration(this.flags['max-age'], '--max-age')
    return this.withState(async (ipc, loaded) => {
      const key = streamKey(loaded.config.ipc.prefix, this.args.name)
      const name = key.slice(loaded.config.ipc.prefix.length + 1)
      await requireStream(ipc, loaded.config.ipc.prefix, key, async (stream) => {
        if (stream === 'events' || stream in loaded.config.streams) return true
        const queue = kindOf(stream) === 'queue' ? parseTableMember(stream.slice(2)) : null
        if (!queue) return false
        // The queue of a table: the table's name is checked like --table (exit 2 with the closest names).
        await resolveTargets(ipc, loaded.config, {connections: [queue.connection], tables: [queue.table]})
        return true
      })
      const given = this.flags['keep-key'] !== undefined || this.flags['max-count'] !== undefined || this.flags['max-age'] !== undefined
      const policy: StreamPolicy = given
        ? {
            keepKey: this.flags['keep-key'],
            maxCount: this.flags['max-count'],
            maxAgeMs,
            timeField: 'at',
          }
        : (policyFor(name, loaded.config.streams) ?? {timeField: 'at'})
      if (kindOf(name) === 'queue' && !this.flags['dry-run'] && !this.flags.archive) {
        await confirm(`${name} is an insert queue: removed rows never reach the database. Remove them without an archive?`, this.flags.yes)
      }
      const result = await compactStream(ipc, key, policy, {dryRun: this.flags['dry-run'], archive: this.flags.archive})
      if (!this.jsonEnabled()) {
        this.print(
          renderPairs([
            ['stream', name],
            [result.dryRun ? 'would remove' : 'removed', result.removed],
            ['kept', `${result.kept} of ${result.examined} (entries appended meanwhile are kept)`],
            ...(result.archive ? [['archive', result.archive] as [string, string]] : []),
          ]),
        )
      }
      return result
    })
  }
}
