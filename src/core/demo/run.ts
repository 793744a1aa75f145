import {DeadLetters, type DeadLetter} from '../buffer/dead-letters.js'
import {createWriteBuffer, type WriteBuffer} from '../buffer/write-buffer.js'
import type {WbcConfig} from '../config/schema.js'
import {readStatus} from '../inspect/status.js'
import {Databases} from '../sql/databases.js'
import {DEMO_TABLES, DemoTraffic, demoTotals, prepareDemoTables, type DemoTotals} from './traffic.js'
import {demoDifferences, type DemoResult} from './verdict.js'

/** What the demo reports while it runs; the command turns these into notes. */
export type DemoEvent =
  | {type: 'started'; rate: number; driver: string; target: string; tables: string[]; socket?: string}
  | {type: 'idle'; written: DemoTotals & {updates: number}}
  | {type: 'progress'; views: number; pending: number; lastFlush: string | null}
  | {type: 'stopping'}

export interface DemoOptions {
  /** Page views per second. */
  rate: number
  /** Stop writing after this many seconds, but keep running until `until`. */
  idleAfterSeconds?: number
  /** Called as the traffic starts; resolves when the demo is to stop (a signal, or its time is up). */
  until: () => Promise<void>
  onEvent: (event: DemoEvent) => void
}

/**
 * Runs the demo application: traffic through the engine until `until`, a final flush, then the
 * database is compared with what was written. Only this run's dead letters explain a difference.
 */
export async function runDemo(config: WbcConfig, options: DemoOptions): Promise<DemoResult> {
  // Its own connection checks the database, before the engine starts and after it closed.
  const check = new Databases(config.connections)
  const knex = check.get('default').knex
  await prepareDemoTables(knex)
  const before = await demoTotals(knex)
  const wb = await createWriteBuffer(config)
  // Dead letters already there (an earlier run's) are not this run's verdict.
  const earlier = new Set((await demoDeadLetters(wb)).map((letter) => letter.id))
  const traffic = new DemoTraffic(wb, options.rate)
  const started = Date.now()
  options.onEvent({
    type: 'started',
    rate: options.rate,
    driver: wb.ipc.driver,
    target: check.get('default').target,
    tables: Object.values(DEMO_TABLES),
    ...(wb.ipc.driver === 'memory' ? {socket: config.ipc.socket} : {}),
  })

  const stop = options.until()
  traffic.start()
  if (options.idleAfterSeconds) {
    const idle = async () => {
      await traffic.stop()
      options.onEvent({type: 'idle', written: traffic.written})
    }
    // A failed stop here is not lost: the traffic is stopped (and awaited) again at the end.
    setTimeout(() => void idle().catch(() => {}), options.idleAfterSeconds * 1000).unref()
  }
  const tick = async () => {
    try {
      const status = await readStatus(wb.ipc, wb.prefix)
      const pending = status.tables.reduce((n, t) => n + t.counters.keys + t.updates.rows + t.inserts.rows, 0)
      const last = status.lastFlush
      options.onEvent({type: 'progress', views: traffic.written.views, pending, lastFlush: last ? String(last.status) : null})
    } catch {
      // A progress line is not worth failing the demo for.
    }
  }
  const ticker = setInterval(() => void tick(), 1000)
  ticker.unref()
  await stop
  clearInterval(ticker)
  await traffic.stop()
  options.onEvent({type: 'stopping'})
  // The final flush runs here, so the dead letters it made can be read before the state closes.
  await wb.flush()
  const deadLetters = await newDeadLetters(wb, earlier)
  await wb.close()
  const after = await demoTotals(knex)
  await check.close()
  const verified = demoDifferences(traffic.written, before, after).length === 0
  return {seconds: Math.round((Date.now() - started) / 1000), written: traffic.written, database: {before, after}, verified, deadLetters}
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
