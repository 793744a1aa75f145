import {Args, Flags} from '@oclif/core'

import {BaseCommand} from '../../cli/base-command.js'
import {confirm} from '../../cli/confirm.js'
import {releaseLock, type ReleaseResult} from '../../core/inspect/locks.js'
import {printable} from '../../ui/safe-text.js'

export default class LocksRelease extends BaseCommand<typeof LocksRelease> {
  static summary = 'Release a stuck lease. Refused while its holder is alive and its TTL has not passed, unless --force.'
  static description = `After a release the next holder gets a higher fence, so the old holder can no longer commit even if it wakes up.
Asks for confirmation on a terminal; scripts pass --yes. Exit codes: 0 released (or not held), 4 the holder may be alive (use --force), 2 no confirmation.`
  static examples = [
    {description: 'Release the flush lease of a crashed process', command: '<%= config.bin %> <%= command.id %> flush'},
    {description: 'From a script, even if the holder may be alive', command: '<%= config.bin %> <%= command.id %> wb:lock:flush --force --yes'},
  ]

  static args = {
    key: Args.string({required: true, description: 'The lease key as `wbc locks` shows it, or its short name (flush).'}),
  }

  static flags = {
    force: Flags.boolean({summary: 'Release even if the holder may be alive (its fence keeps it from committing).'}),
    yes: Flags.boolean({char: 'y', summary: 'Do not ask for confirmation.'}),
  }

  async run(): Promise<ReleaseResult> {
    return this.withState(async (ipc, loaded) => {
      const result = await releaseLock(ipc, loaded.config.ipc.prefix, this.args.key, {
        force: this.flags.force,
        confirm: (lock) => confirm(`Release ${lock.key} held by ${lock.host ?? 'an unknown owner'} pid ${lock.pid ?? '?'}${this.flags.force ? ' (forced)' : ''}?`, this.flags.yes),
      })
      if (!this.jsonEnabled()) {
        this.print(result.released ? `released ${printable(result.key)}${result.forced ? ' (forced; its holder is fenced out)' : ''}` : `${printable(result.key)} is not held; nothing to release`)
      }
      return result
    })
  }
}
