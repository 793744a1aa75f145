import {BaseCommand} from '../../cli/base-command.js'
import {deadLetterFlags, selectedTables} from '../../cli/dead-letter-target.js'
import {resolveTargetFlags} from '../../cli/target-flags.js'
import {DeadLetters, type DeadLetter} from '../../core/buffer/dead-letters.js'
import {renderTable} from '../../ui/table.js'

export default class DeadletterList extends BaseCommand<typeof DeadletterList> {
  static summary = 'List dead letters: entries the database refused, with the error it gave.'
  static examples = [
    {description: 'All tables', command: '<%= config.bin %> <%= command.id %>'},
    {description: 'One table as JSON', command: '<%= config.bin %> <%= command.id %> --table activity_log --json'},
  ]

  static flags = deadLetterFlags

  async run(): Promise<{deadLetters: DeadLetter[]}> {
    return this.withState(async (ipc, loaded) => {
      const letters = new DeadLetters(ipc, loaded.config.ipc.prefix, loaded.config.buffer.primaryKey)
      const all: DeadLetter[] = []
      for (const t of await selectedTables(letters, await resolveTargetFlags(ipc, loaded, this.flags))) all.push(...(await letters.list(t.connection, t.table)))
      if (!this.jsonEnabled()) {
        if (all.length === 0) this.print('no dead letters')
        else {
          const rows = all.map((l) => [l.id, `${l.connection}:${l.table}`, l.kind, new Date(l.at).toISOString(), JSON.stringify(l.entry).slice(0, 60), l.error.slice(0, 80)])
          this.print(renderTable(['id', 'table', 'kind', 'at', 'entry', 'error'], rows, this.tty))
        }
      }
      return {deadLetters: all}
    })
  }
}
