import {BaseCommand} from '../cli/base-command.js'
import {ExitCode} from '../core/errors.js'
import {runDoctor, type Check} from '../core/inspect/doctor.js'
import {printable} from '../ui/safe-text.js'

export default class Doctor extends BaseCommand<typeof Doctor> {
  static summary = 'Check the config, the state store (Redis or the socket), each database, the ledger tables and the checkpoint.'
  static description =
    'One line per check, with the fix for each failure. Exits with the code of the first failure (3 unreachable, 2 configuration, 5 bad keys in the state, 7 the state store rolled back behind the database), 0 when all pass (warnings, such as a Redis without an append-only file, do not fail).'
  static examples = [{description: 'Before going live, or when something looks wrong', command: '<%= config.bin %> <%= command.id %>'}]

  async run(): Promise<{ok: boolean; checks: Check[]}> {
    const checks = await runDoctor(this.loadWbcConfig())
    const ok = checks.every((c) => c.ok)
    if (!this.jsonEnabled()) {
      for (const c of checks) {
        this.print(`${!c.ok ? this.style.red('FAIL') : c.warning ? this.style.yellow('warn') : this.style.green('ok  ')} ${printable(c.name)}: ${printable(c.detail)}`)
        if ((!c.ok || c.warning) && c.fix) this.print(`     fix: ${printable(c.fix)}`)
      }
    }
    const failed = checks.find((c) => !c.ok)
    return this.finish(failed ? (failed.exitCode ?? ExitCode.unexpected) : ExitCode.ok, {ok, checks})
  }
}
