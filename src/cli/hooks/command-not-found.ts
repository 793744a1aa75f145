import type {Hook} from '@oclif/core'
import notFound from '@oclif/plugin-not-found'
import {stripVTControlCharacters} from 'node:util'

import {ExitCode} from '../../core/errors.js'
import {printable} from '../../ui/safe-text.js'
import {describeUnknownCommand, writeUsageError} from '../unknown-command.js'

/**
 * Words that name no command. On an interactive terminal, @oclif/plugin-not-found asks "Did you
 * mean …?" and runs the command on yes. Otherwise (a script, a pipe, --json), or when the answer is
 * no, the error is written like every other wbc error — `Error:`/`Hint:` lines, or one JSON
 * document under --json — and the exit code is 2 (usage).
 */
const hook: Hook.CommandNotFound = async function (options) {
  const argv = options.argv ?? []
  const json = argv.includes('--json')
  const report = describeUnknownCommand(
    options.id,
    [...options.config.commandIDs],
    options.config.topics.map((topic) => topic.name),
    options.config.bin,
  )
  if (!json && report.suggestion && process.stdin.isTTY && process.stdout.isTTY) {
    const declined = new Error('declined')
    const context = {
      ...this,
      warn: (message: string | Error) => process.stderr.write(`${printable(stripVTControlCharacters(String(message)))}\n`),
      // The plugin's own error once the answer is no (or the prompt timed out): write ours instead.
      error: () => {
        throw declined
      },
    }
    try {
      return await notFound.call(context as typeof this, options)
    } catch (error) {
      if (error !== declined) throw error // the suggested command ran and failed: its exit stands
    }
  }
  writeUsageError(report, argv)
  this.exit(ExitCode.usage)
}

export default hook
