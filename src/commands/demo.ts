import {Flags} from '@oclif/core'

import {BaseCommand} from '../cli/base-command.js'
import {runDemo, type DemoEvent} from '../core/demo/run.js'
import {demoDifferences, type DemoResult} from '../core/demo/verdict.js'
import {ExitCode} from '../core/errors.js'

export type {DemoResult}

export default class Demo extends BaseCommand<typeof Demo> {
  static summary = 'Run a demo application that writes realistic traffic through the engine (no server needed).'
  static description = `With the built-in defaults it uses the memory driver, a SQLite file under ./.wbc/ and the socket ./.wbc/wbc.sock,
so "wbc status", "wbc flush --table demo_posts" and "wbc dashboard" can be tried from another terminal while it runs.
It stops after --seconds (or on Ctrl-C), flushes, and checks that the database holds exactly what it wrote (exit 1 if not).`
  static examples = [
    {description: 'Ten seconds of traffic, then the check', command: '<%= config.bin %> <%= command.id %> --seconds 10'},
    {description: 'Run until Ctrl-C; in another terminal: wbc status', command: '<%= config.bin %> <%= command.id %>'},
  ]

  static flags = {
    seconds: Flags.integer({min: 1, summary: 'Stop after this many seconds (default: run until Ctrl-C).'}),
    rate: Flags.integer({min: 1, default: 500, summary: 'Page views per second.'}),
    'idle-after': Flags.integer({min: 1, summary: 'Stop writing after this many seconds but keep running (to watch a flush drain everything).'}),
  }

  async run(): Promise<DemoResult> {
    const loaded = this.loadWbcConfig()
    // Ctrl-C, SIGTERM or --seconds end the traffic (counted from its start); the final flush and the check follow.
    const until = () =>
      new Promise<void>((resolve) => {
        const done = () => resolve()
        process.once('SIGINT', done)
        process.once('SIGTERM', done)
        if (this.flags.seconds) setTimeout(done, this.flags.seconds * 1000).unref()
      })
    const onEvent = (event: DemoEvent) => {
      for (const line of demoNotes(event)) this.note(line)
    }
    const result = await runDemo(loaded.config, {rate: this.flags.rate, idleAfterSeconds: this.flags['idle-after'], until, onEvent})
    const {written, database} = result
    if (!this.jsonEnabled()) {
      this.print(
        [
          `wrote ${written.views} views, ${written.likes} likes, ${written.updates} user updates, ${written.activity} activity rows in ${result.seconds}s`,
          `database: views +${database.after.views - database.before.views}, likes +${database.after.likes - database.before.likes}, activity +${database.after.activity - database.before.activity}`,
          ...(result.verified ? [this.style.green('verified: the database holds exactly what was written')] : verdict(result).map((line) => this.style.red(line))),
        ].join('\n'),
      )
    }
    return this.finish(result.verified ? ExitCode.ok : ExitCode.unexpected, result)
  }
}

function demoNotes(event: DemoEvent): string[] {
  switch (event.type) {
    case 'started':
      return [
        `demo: ${event.rate} views/s through the ${event.driver} driver into ${event.target} (tables ${event.tables.join(', ')})`,
        ...(event.socket ? [`demo: socket ${event.socket} — try "wbc status" in another terminal`] : []),
      ]
    case 'idle':
      return [`demo: idle after ${event.written.views} views, ${event.written.likes} likes, ${event.written.updates} user updates, ${event.written.activity} activity rows`]
    case 'progress':
      return [`demo: ${event.views} views written, ${event.pending} pending, last flush ${event.lastFlush ?? 'none yet'}`]
    case 'stopping':
      return ['demo: stopping: final flush…']
  }
}

/** What differs and why: the dead letters the run made, or that none explain the difference. */
function verdict(result: DemoResult): string[] {
  const {written, database} = result
  const differences = demoDifferences(written, database.before, database.after).map((d) => `${d.name} ${d.written} written, +${d.stored} in the database`)
  const lines = [`MISMATCH: ${differences.join('; ')}`]
  if (result.deadLetters.length === 0) {
    lines.push('no dead letters explain it: this is a defect; keep .wbc/ and the output for the report')
    return lines
  }
  const total = result.deadLetters.reduce((n, t) => n + t.count, 0)
  lines.push(`the database refused ${total} write${total === 1 ? '' : 's'} of this run, kept as dead letters:`)
  for (const t of result.deadLetters) lines.push(`  ${t.table}: ${t.count} (first: ${t.firstError})`)
  lines.push('see `wbc deadletter list`; fix the cause, then `wbc deadletter retry --all`')
  return lines
}
