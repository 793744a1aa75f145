import {Flags} from '@oclif/core'

import {BaseCommand} from '../cli/base-command.js'
import {scrubbed} from '../cli/scrubbed.js'
import {resolveTargetFlags, targetFlags} from '../cli/target-flags.js'
import {parseDuration} from '../core/duration.js'
import {ExitCode, WbcError} from '../core/errors.js'

export default class DashboardCommand extends BaseCommand<typeof DashboardCommand> {
  static summary = 'Watch buffers drain and act on them: a live terminal dashboard.'
  static description = `Tables with pending rows, rates in and out and a sparkline; views for locks, dead letters, events and streams.
Keys: ↑/↓ select, f flush the table, F flush all, l locks (r release), d dead letters (R retry, x drop), s streams (c compact),
e events, p pause, ? help, q quit. Every action asks for confirmation. Without a terminal it exits 2 (use --once for logs).`
  static examples = [
    {description: 'Watch everything, refreshing every second', command: '<%= config.bin %> <%= command.id %>'},
    {description: 'One table, every 5 seconds', command: '<%= config.bin %> <%= command.id %> --table posts --interval 5s'},
    {description: 'Print one frame (for logs, works without a terminal)', command: '<%= config.bin %> <%= command.id %> --once'},
  ]

  static enableJsonFlag = false
  static flags = {
    interval: Flags.string({default: '1s', summary: 'Refresh interval (e.g. 500ms, 1s, 5s).'}),
    ...targetFlags,
    once: Flags.boolean({summary: 'Print one frame and exit.'}),
  }

  async run(): Promise<void> {
    const intervalMs = parseDuration(this.flags.interval, '--interval')
    const interactive = Boolean(process.stdin.isTTY && process.stdout.isTTY) && process.env.CI !== 'true'
    if (!this.flags.once && !interactive) {
      throw new WbcError('NO_TERMINAL', 'the dashboard needs an interactive terminal', {
        exitCode: ExitCode.usage,
        hint: 'For scripts and logs use `wbc status --json`, or `wbc dashboard --once` for one frame.',
      })
    }
    const loaded = this.loadWbcConfig()
    // Ink and React load only here: they cost more start-up time than every other command needs.
    const [{createElement}, ink, {Dashboard}, {CoreDashboardSource}] = await Promise.all([
      import('react'),
      import('ink'),
      import('../ui/dashboard/Dashboard.js'),
      import('../ui/dashboard/core-source.js'),
    ])
    // Names are checked once up front; without any, the dashboard opens even while the state is down.
    const named = Boolean(this.flags.table?.length || this.flags.connection?.length)
    const filter = named ? await this.withState((ipc) => resolveTargetFlags(ipc, loaded, this.flags)) : {}
    // Ink renders outside print(): what the source answers is scrubbed of secrets on the way.
    const source = scrubbed(new CoreDashboardSource(loaded, filter), <V>(value: V): V => this.scrubValue(value))
    try {
      if (this.flags.once) {
        const initial = await source.read()
        const columns = process.stdout.columns ?? 100
        // Ink adds its own colour codes; every value in the frame was escaped by its layout (fit).
        this.print(ink.renderToString(createElement(Dashboard, {source, intervalMs, initial, size: {columns, rows: 24}, keyHints: false}), {columns}), true)
        return
      }
      const app = ink.render(createElement(Dashboard, {source, intervalMs}), {exitOnCtrlC: false})
      await app.waitUntilExit()
    } finally {
      await source.close()
    }
  }
}
