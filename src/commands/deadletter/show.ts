import {Args} from '@oclif/core'

import {BaseCommand} from '../../cli/base-command.js'
import {deadLetterFlags, selectedTables} from '../../cli/dead-letter-target.js'
import {DeadLetters, type DeadLetter} from '../../core/buffer/dead-letters.js'
import {ExitCode, WbcError} from '../../core/errors.js'
import {printable} from '../../ui/safe-text.js'
import {renderPairs} from '../../ui/table.js'

export default class DeadletterShow extends BaseCommand<typeof DeadletterShow> {
  static summary = 'Show one dead letter in full: its entry, the reason, the statement the database refused, the attempts.'
  static examples = [
    {description: 'One dead letter', command: '<%= config.bin %> <%= command.id %> 0mx1a2b3c-9f8e7d6c5b:617'},
    {description: 'As JSON', command: '<%= config.bin %> <%= command.id %> 0mx1a2b3c-9f8e7d6c5b:617 --json'},
  ]

  static args = {id: Args.string({required: true, description: 'The id `wbc deadletter list` shows.'})}
  static flags = deadLetterFlags

  async run(): Promise<{deadLetter: DeadLetter}> {
    return this.withState(async (ipc, loaded) => {
      const letters = new DeadLetters(ipc, loaded.config.ipc.prefix, loaded.config.buffer.primaryKey)
      const letter = await letters.find(this.args.id, await selectedTables(letters, this.flags))
      if (!letter) {
        throw new WbcError('NO_SUCH_DEAD_LETTER', `no dead letter ${this.args.id}${this.flags.table ? ` in ${this.flags.table}` : ''}`, {
          exitCode: ExitCode.usage,
          hint: 'See the ids with `wbc deadletter list`.',
        })
      }
      if (!this.jsonEnabled()) this.print(describeDeadLetter(letter))
      return {deadLetter: letter}
    })
  }
}

export function describeDeadLetter(l: DeadLetter): string {
  const head = renderPairs([
    ['id', l.id],
    ['table', `${l.connection}:${l.table}`],
    ['kind', l.kind],
    ['at', new Date(l.at).toISOString()],
    ['code', l.reason.code ?? 'unknown'],
    ['constraint', l.reason.constraint ?? '-'],
    ['reason', l.reason.message],
    ...(l.reason.detail ? [['detail', l.reason.detail] as [string, string]] : []),
    ['attempts', l.attempts ?? 'not recorded'],
  ])
  return `${head}\nentry:\n${JSON.stringify(l.entry, null, 2)}\nstatement:\n${l.statement === null ? '(not recorded)' : printable(l.statement)}`
}
