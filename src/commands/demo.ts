import {Flags} from '@oclif/core'

import {BaseCommand} from '../cli/base-command.js'
import {DeadLetters, type DeadLetter} from '../core/buffer/dead-letters.js'
import {createWriteBuffer, type WriteBuffer} from '../core/buffer/write-buffer.js'
import {readStatus} from '../core/inspect/status.js'
import {DEMO_TABLES, DemoTraffic, demoTotals, prepareDemoTables, type DemoTotals} from '../core/demo/traffic.js'
import {ExitCode} from '../core/errors.js'
import {Databases} from '../core/sql/databases.js'

export interface DemoResult {
  seconds: number
  written: DemoTotals & {updates: number}
  database: {before: DemoTotals; after: DemoTotals}
  verified: boolean
  /** Writes of this run the database refused (dead letters), per demo table, with the first reason. */
  deadLetters: Array<{table: string; count: number; firstError: string}>
}

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
    // Its own connection checks the database, before the engine starts and after it closed.
    const check = new Databases(loaded.config.connections)
    const knex = check.get('default').knex
    await prepareDemoTables(knex)
    const before = await demoTotals(knex)
    const wb = await createWriteBuffer(loaded.config)
    // Dead letters already there (an earlier run's) are not this run's verdict.
    const earlier = new Set((await demoDeadLetters(wb)).map((letter) => letter.id))
    const traffic = new DemoTraffic(wb, this.flags.rate)
    const started = Date.now()
    const target = check.get('default').target
    this.note(`demo: ${this.flags.rate} views/s through the ${wb.ipc.driver} driver into ${target} (tables ${Object.values(DEMO_TABLES).join(', ')})`)
    if (wb.ipc.driver === 'memory') this.note(`demo: socket ${loaded.config.ipc.socket} — try "wbc status" in another terminal`)

    const stop = new Promise<void>((resolve) => {
      const done = () => resolve()
      process.once('SIGINT', done)
      process.once('SIGTERM', done)
      if (this.flags.seconds) setTimeout(done, this.flags.seconds * 1000).unref()
    })
    traffic.start()
    if (this.flags['idle-after']) {
      setTimeout(async () => {
        await traffic.stop()
        const w = traffic.written
        this.note(`demo: idle after ${w.views} views, ${w.likes} likes, ${w.updates} user updates, ${w.activity} activity rows`)
      }, this.flags['idle-after'] * 1000).unref()
    }
    const ticker = setInterval(async () => {
      try {
        const status = await readStatus(wb.ipc, wb.prefix)
        const pending = status.tables.reduce((n, t) => n + t.counters.keys + t.updates.rows + t.inserts.rows, 0)
        const last = status.lastFlush
        this.note(`demo: ${traffic.written.views} views written, ${pending} pending, last flush ${last ? String(last.status) : 'none yet'}`)
      } catch {
        // A progress line is not worth failing the demo for.
      }
    }, 1000)
    ticker.unref()
    await stop
    clearInterval(ticker)
    await traffic.stop()
    this.note('demo: stopping: final flush…')
    // The final flush runs here, so the dead letters it made can be read before the state closes.
    await wb.flush()
    const deadLetters = await newDeadLetters(wb, earlier)
    await wb.close()
    const after = await demoTotals(knex)
    await check.close()
    const verified =
      after.views - before.views === traffic.written.views && after.likes - before.likes === traffic.written.likes && after.activity - before.activity === traffic.written.activity
    const result: DemoResult = {seconds: Math.round((Date.now() - started) / 1000), written: traffic.written, database: {before, after}, verified, deadLetters}
    if (!this.jsonEnabled()) {
      this.print(
        [
          `wrote ${traffic.written.views} views, ${traffic.written.likes} likes, ${traffic.written.updates} user updates, ${traffic.written.activity} activity rows in ${result.seconds}s`,
          `database: views +${after.views - before.views}, likes +${after.likes - before.likes}, activity +${after.activity - before.activity}`,
          ...(verified ? [this.style.green('verified: the database holds exactly what was written')] : verdict(result).map((line) => this.style.red(line))),
        ].join('\n'),
      )
    }
    if (!verified) {
      if (this.jsonEnabled()) this.logJson(result)
      this.exit(ExitCode.unexpected)
    }
    return result
  }
}

/** The demo tables' dead letters (connection `default`). */
async function demoDeadLetters(wb: WriteBuffer): Promise<DeadLetter[]> {
  const letters = new DeadLetters(wb.ipc, wb.prefix, 'id')
  const all: DeadLetter[] = []
  for (const table of Object.values(DEMO_TABLES)) all.push(...(await letters.list('default', table)))
  return all
}

async function newDeadLetters(wb: WriteBuffer, earlier: Set<string>): Promise<DemoResult['deadLetters']> {
  const byTable = new Map<string, {table: string; count: number; firstError: string}>()
  for (const letter of await demoDeadLetters(wb)) {
    if (earlier.has(letter.id)) continue
    const seen = byTable.get(letter.table)
    if (seen) seen.count++
    else byTable.set(letter.table, {table: letter.table, count: 1, firstError: letter.error})
  }
  return [...byTable.values()]
}

/** What differs and why: the dead letters the run made, or that none explain the difference. */
function verdict(result: DemoResult): string[] {
  const {written, database} = result
  const differences = (['views', 'likes', 'activity'] as const)
    .filter((name) => database.after[name] - database.before[name] !== written[name])
    .map((name) => `${name} ${written[name]} written, +${database.after[name] - database.before[name]} in the database`)
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
