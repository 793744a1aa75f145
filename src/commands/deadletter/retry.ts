import {BaseCommand} from '../../cli/base-command.js'
import {deadLetterFlags, requireSelection, selectedTables, selectionFlags} from '../../cli/dead-letter-target.js'
import {DeadLetters} from '../../core/buffer/dead-letters.js'

export default class DeadletterRetry extends BaseCommand<typeof DeadletterRetry> {
  static summary = 'Put dead letters back into the buffer; the next flush tries them again.'
  static examples = [
    {description: 'Retry one after fixing its cause', command: '<%= config.bin %> <%= command.id %> --table activity_log --id 0mx1a2b3c-9f8e7d6c5b:617'},
    {description: 'Retry all of a table', command: '<%= config.bin %> <%= command.id %> --table activity_log --all'},
  ]

  static flags = {...deadLetterFlags, ...selectionFlags}

  async run(): Promise<{retried: number}> {
    const ids = requireSelection(this.flags)
    return this.withState(async (ipc, loaded) => {
      const letters = new DeadLetters(ipc, loaded.config.ipc.prefix, loaded.config.buffer.primaryKey)
      let retried = 0
      for (const t of await selectedTables(letters, this.flags)) retried += await letters.retry(t.connection, t.table, ids)
      if (!this.jsonEnabled()) this.print(`${retried} dead letter${retried === 1 ? '' : 's'} put back into the buffer`)
      return {retried}
    })
  }
}
