import {Flags} from '@oclif/core'

import {BaseCommand} from '../../cli/base-command.js'
import {confirm} from '../../cli/confirm.js'
import {deadLetterFlags, requireExistingIds, requireSelection, selectedTables, selectionFlags} from '../../cli/dead-letter-target.js'
import {resolveTargetFlags} from '../../cli/target-flags.js'
import {DeadLetters} from '../../core/buffer/dead-letters.js'

export default class DeadletterDrop extends BaseCommand<typeof DeadletterDrop> {
  static summary = 'Discard dead letters for good. Asks for confirmation on a terminal; scripts pass --yes.'
  static examples = [{description: 'Drop every dead letter of a table', command: '<%= config.bin %> <%= command.id %> --table activity_log --all --yes'}]

  static flags = {...deadLetterFlags, ...selectionFlags, yes: Flags.boolean({char: 'y', summary: 'Do not ask for confirmation.'})}

  async run(): Promise<{dropped: number}> {
    const ids = requireSelection(this.flags)
    return this.withState(async (ipc, loaded) => {
      const letters = new DeadLetters(ipc, loaded.config.ipc.prefix, loaded.config.buffer.primaryKey)
      const tables = await selectedTables(letters, await resolveTargetFlags(ipc, loaded, this.flags))
      await requireExistingIds(letters, tables, ids)
      await confirm(`Discard ${ids.length === 0 ? 'all' : ids.length} dead letter(s) of ${tables.map((t) => t.table).join(', ') || 'no table'} for good?`, this.flags.yes)
      let dropped = 0
      for (const t of tables) dropped += await letters.drop(t.connection, t.table, ids)
      if (!this.jsonEnabled()) this.print(`${dropped} dead letter${dropped === 1 ? '' : 's'} dropped`)
      return {dropped}
    })
  }
}
