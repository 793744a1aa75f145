import {Flags} from '@oclif/core'

import {BaseCommand} from '../../cli/base-command.js'
import {deadLetterFlags, selectedTables} from '../../cli/dead-letter-target.js'
import {resolveTargetFlags} from '../../cli/target-flags.js'
import {DeadLetters, type DeadLetter} from '../../core/buffer/dead-letters.js'
import {formatRefusal} from '../../core/sql/refusal.js'
import {renderTable} from '../../ui/table.js'

export default class DeadletterList extends BaseCommand<typeof DeadletterList> {
  static summary = 'List dead letters: entries the database refused, the reason first (code, constraint, message).'
  static description = 'Oldest first, a page at a time (--limit, --cursor). The statement the database refused, and the attempts, are in `wbc deadletter show ID`.'
  static examples = [
    {description: 'All tables', command: '<%= config.bin %> <%= command.id %>'},
    {description: 'One table as JSON', command: '<%= config.bin %> <%= command.id %> --table activity_log --json'},
    {description: 'The next page', command: '<%= config.bin %> <%= command.id %> --limit 50 --cursor 50'},
    {description: 'One in full', command: '<%= config.bin %> deadletter show 0mx1a2b3c-9f8e7d6c5b:617'},
  ]

  static flags = {
    ...deadLetterFlags,
    limit: Flags.integer({min: 1, max: 10000, default: 100, summary: 'Dead letters per page.'}),
    cursor: Flags.integer({min: 0, default: 0, summary: 'Where the page starts (the `cursor` a previous page gave).'}),
  }

  async run(): Promise<{deadLetters: DeadLetter[]; total: number; cursor: number | null}> {
    return this.withState(async (ipc, loaded) => {
      const letters = new DeadLetters(ipc, loaded.config.ipc.prefix, loaded.config.buffer.primaryKey)
      const all: DeadLetter[] = []
      for (const t of await selectedTables(letters, await resolveTargetFlags(ipc, loaded, this.flags))) all.push(...(await letters.list(t.connection, t.table)))
      all.sort((a, b) => a.at - b.at || (a.id < b.id ? -1 : 1))
      const {limit, cursor} = this.flags
      const page = all.slice(cursor, cursor + limit)
      const next = cursor + page.length < all.length ? cursor + page.length : null
      if (!this.jsonEnabled()) {
        if (all.length === 0) this.print('no dead letters')
        else if (page.length === 0) this.print(`no dead letters from --cursor ${cursor} (${all.length} in all)`)
        else {
          // The reason before the entry: a narrow view cuts the entry, not why it was refused.
          const rows = page.map((l) => [l.id, `${l.connection}:${l.table}`, l.kind, formatRefusal(l.reason).slice(0, 100), new Date(l.at).toISOString(), JSON.stringify(l.entry).slice(0, 60)])
          this.print(renderTable(['id', 'table', 'kind', 'reason', 'at', 'entry'], rows, this.tty))
        }
        if (next !== null) this.note(`${all.length - next} more: --cursor ${next}`)
      }
      return {deadLetters: page, total: all.length, cursor: next}
    })
  }
}
