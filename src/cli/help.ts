import {Errors, Help} from '@oclif/core'

import {ExitCode} from '../core/errors.js'
import {describeUnknownCommand, writeUsageError} from './unknown-command.js'

/**
 * oclif's help, except that help for words naming no command or topic (`wbc help stauts`) is a
 * usage error written like every other wbc error, with the closest command.
 */
export default class WbcHelp extends Help {
  async showHelp(argv: string[]): Promise<void> {
    const words = argv.filter((arg) => !arg.startsWith('-'))
    const id = words.join(':')
    if (id && !this.config.findCommand(id) && !this.config.findTopic(id)) {
      const topics = this.config.topics.map((topic) => topic.name)
      writeUsageError(describeUnknownCommand(id, [...this.config.commandIDs], topics, this.config.bin), argv)
      Errors.exit(ExitCode.usage)
    }
    await super.showHelp(argv)
  }
}
