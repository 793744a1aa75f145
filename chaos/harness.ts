/**
 * One randomized fault run: writers with logs, flushers, faults; then recovery, a final flush and
 * an exact comparison of the database with the writers' logs.
 */
import {randomBytes} from 'node:crypto'
import {mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import type {WbcConfigInput} from '../src/core/config/schema.js'
import {faults, faultsFor, type FaultContext} from './faults.js'
import {exitWithin, sleep, startCli, startScript, type Child} from './processes.js'
import {childSeed, Random} from './random.js'
import {DedicatedDatabase, DedicatedRedis} from './services.js'
import {ACTION_DEFAULT, verify, type Verdict} from './verify.js'
import {PAIR_CODES, PAIR_SHOPS, type WriterOptions} from './writer-loop.js'

export interface ChaosOptions {
  driver: 'memory' | 'redis'
  dialect: 'postgres' | 'mysql'
  seconds: number
  seed: number
  /** Server URLs (the run creates its own database there). */
  postgresUrl: string
  mysqlUrl: string
  writers?: number
  loops?: number
  rows?: number
  paceMs?: number
  leaseTtlMs?: number
  log?: (line: string) => void
  /**
   * Redis only: an RDB snapshot is taken a third into the run and Redis is restarted from it two
   * thirds in (its append-only file gone). Flushing must then refuse (exit 7) instead of applying
   * the snapshot's deltas a second time; the run reports what the operator's tools said.
   */
  rollback?: boolean
}

export interface ChaosResult extends Verdict {
  driver: string
  dialect: string
  seed: number
  seconds: number
  faults: Record<string, number>
  /** What was left after the final flush: must all be 0. */
  left: {pending: number; inflight: number; deadLetters: number}
  writerErrors: Record<string, number>
  /** With `rollback`: the exit codes of `wbc flush` and `wbc status` after the restart from the snapshot. */
  rollback?: {flushExit: number | null; statusExit: number | null; flushError: string}
}

interface StatusJson {
  tables: Array<{counters: {keys: number}; updates: {rows: number}; inserts: {rows: number}; inflight: {batches: number}; deadLetters: number}>
}

export async function runChaos(options: ChaosOptions): Promise<ChaosResult> {
  const log = options.log ?? (() => {})
  const writers = options.writers ?? 3
  const loops = options.loops ?? 4
  const rows = options.rows ?? 200
  const leaseTtlMs = options.leaseTtlMs ?? 1500
  const random = new Random(childSeed(options.seed, 999))
  const name = `wbc_chaos_${process.pid}_${randomBytes(3).toString('hex')}`
  const dir = mkdtempSync(join(tmpdir(), 'wbc-chaos-'))
  const db = await DedicatedDatabase.create(options.dialect === 'postgres' ? options.postgresUrl : options.mysqlUrl, name)
  let redis: DedicatedRedis | undefined
  let host: Child | undefined
  const children: Child[] = []
  try {
    await db.using(async (knex) => {
      await knex.schema.createTable('posts', (t) => {
        t.integer('id').primary()
        t.bigInteger('views').notNullable().defaultTo(0)
        t.string('title', 100)
      })
      await knex.schema.createTable('activity', (t) => {
        t.increments('id')
        t.integer('user_id').notNullable()
        t.string('action', 20).notNullable().defaultTo(ACTION_DEFAULT)
        t.integer('seq').notNullable()
      })
      // A composite key of mixed types, one of them char(n): writers address its rows several ways.
      await knex.schema.createTable('pairs', (t) => {
        t.integer('shop').notNullable()
        t.specificType('code', 'char(3)').notNullable()
        t.bigInteger('hits').notNullable().defaultTo(0)
        t.primary(['shop', 'code'])
      })
      await knex('pairs').insert(Array.from({length: PAIR_SHOPS}, (_, i) => PAIR_CODES.map((code) => ({shop: i + 1, code}))).flat())
      for (let i = 0; i < rows; i += 500) await knex('posts').insert(Array.from({length: Math.min(500, rows - i)}, (_, j) => ({id: i + j + 1})))
    })

    if (options.driver === 'redis') redis = await DedicatedRedis.start()
    const config: WbcConfigInput = {
      ipc:
        options.driver === 'redis'
          ? {driver: 'redis', redis: redis!.url, prefix: 'chaos', requestTimeout: 3000, connectTimeout: 1000}
          : {driver: 'memory', socket: join(dir, 'wbc.sock'), prefix: 'chaos', requestTimeout: 3000, connectTimeout: 1000},
      connections: {default: db.url},
      buffer: {flushInterval: 300, checkpointInterval: 500, checkpointPath: join(dir, 'checkpoint.lmdb'), maxQueueSize: 2000},
    }
    const configFile = join(dir, 'wbc.config.json')
    writeFileSync(configFile, JSON.stringify(config, null, 2))

    const writerOptions = (writer: number): WriterOptions => ({
      config,
      role: options.driver === 'memory' ? 'socket' : 'auto',
      timers: true,
      writer,
      writers,
      loops,
      rows,
      seed: options.seed,
      posts: 'posts',
      log: 'activity',
      logFile: join(dir, `writer-${writer}.log`),
      leaseTtlMs,
      paceMs: options.paceMs ?? 2,
    })
    const all = Array.from({length: writers}, (_, w) => writerOptions(w))
    // Memory: the application (primary + cluster workers, even writers) and socket writers (odd ones).
    const clustered = options.driver === 'memory' ? all.filter((w) => w.writer % 2 === 0) : []
    const separate = all.filter((w) => !clustered.includes(w))
    const writerErrors: Record<string, number> = {}
    const addErrors = (summary: {errors: Record<string, number>}) => {
      for (const [code, n] of Object.entries(summary.errors)) writerErrors[code] = (writerErrors[code] ?? 0) + n
    }
    let generation = 0
    const startHost = async () => {
      host = startScript('host.ts', {CHAOS_HOST: JSON.stringify({config, leaseTtlMs, workers: clustered.map((w) => ({...w, generation}))})})
      await host.line((l) => l === 'ready', 30_000)
    }
    /** Its cluster writers stop (their logs complete), then the application stops and starts again. */
    const stopHost = async () => {
      const old = host!
      old.process.kill('SIGUSR2')
      const line = await old.line((l) => l.startsWith('{"workers"'), 60_000)
      for (const summary of JSON.parse(line).workers) addErrors(summary)
      old.process.kill('SIGTERM')
      const exit = await exitWithin(old, 60_000)
      if (exit.code !== 0) throw new Error(`the application exited with ${exit.code ?? exit.signal}: ${exit.stderr.slice(-2000)}`)
      host = undefined
    }
    if (options.driver === 'memory') await startHost()
    for (const w of separate) children.push(startScript('writer.ts', {CHAOS_WRITER: JSON.stringify(w)}))

    const restartApp = async () => {
      await stopHost()
      generation++
      await startHost()
    }
    const ctx: FaultContext = {random, configFile, leaseTtlMs, db, redis, writers: children, ...(options.driver === 'memory' ? {restartApp} : {})}
    const names = faultsFor(options.driver)
    const tally: Record<string, number> = {}
    const deadline = Date.now() + options.seconds * 1000
    const rollback = options.rollback && redis ? {snapshotAt: Date.now() + (options.seconds * 1000) / 3, restartAt: Date.now() + (options.seconds * 2000) / 3, taken: false} : null
    log(`chaos: ${options.driver} + ${options.dialect}, seed ${options.seed}, ${options.seconds} s, ${writers} writers x ${loops} loops`)
    await sleep(500)
    while (Date.now() < deadline) {
      if (rollback && !rollback.taken && Date.now() >= rollback.snapshotAt) {
        await redis!.snapshot()
        rollback.taken = true
        log('  snapshot taken')
      }
      if (rollback?.taken && Date.now() >= rollback.restartAt) {
        await redis!.restartFromSnapshot()
        log('  redis restarted from the older snapshot')
        // The writers' timed flushes meet the rolled-back store for a while; then the run ends.
        await sleep(2000)
        break
      }
      const fault = random.pick(names)
      const outcome = await faults[fault](ctx)
      tally[fault] = (tally[fault] ?? 0) + 1
      log(`  fault ${fault}: ${outcome}`)
      await sleep(random.int(100, 700))
    }

    // Faults stop; writers stop and close their logs.
    log('chaos: stopping writers')
    for (const child of children) child.process.kill('SIGCONT')
    for (const child of children) child.process.kill('SIGTERM')
    for (const child of children) {
      const exit = await exitWithin(child, 60_000)
      if (exit.code !== 0) throw new Error(`a writer exited with ${exit.code ?? exit.signal}: ${exit.stderr.slice(-2000)}`)
      addErrors(JSON.parse(exit.stdout.trim().split('\n').pop()!))
    }
    if (host) {
      const current: Child = host
      current.process.kill('SIGUSR2')
      const line = await current.line((l) => l.startsWith('{"workers"'), 60_000)
      for (const summary of JSON.parse(line).workers) addErrors(summary)
    }

    if (rollback) {
      // What the operator sees: flushing refuses until someone decides (`wbc recover --after-rollback`).
      const cli = async (...args: string[]) => exitWithin(startCli([...args, '--config', configFile, '--json']), 60_000)
      await cli('locks', 'release', 'flush', '--force', '--yes')
      const flush = await cli('flush', '--wait', '10s')
      const status = await cli('status')
      const verdict = await db.using((knex) =>
        verify(
          knex,
          'posts',
          'activity',
          all.map((w) => w.logFile),
        ),
      )
      return {
        driver: options.driver,
        dialect: options.dialect,
        seed: options.seed,
        seconds: options.seconds,
        ...verdict,
        faults: tally,
        left: {pending: -1, inflight: -1, deadLetters: -1},
        writerErrors,
        rollback: {flushExit: flush.code, statusExit: status.code, flushError: flush.stderr.slice(0, 400) || flush.stdout.slice(0, 400)},
      }
    }

    // Recovery as an operator would do it: release a dead holder's lease, finish in-flight work, flush.
    log('chaos: recovering and flushing')
    const left = await drain(configFile)
    if (host) {
      host.process.kill('SIGTERM')
      await exitWithin(host, 60_000)
      host = undefined
    }
    const verdict = await db.using((knex) =>
      verify(
        knex,
        'posts',
        'activity',
        all.map((w) => w.logFile),
      ),
    )
    return {driver: options.driver, dialect: options.dialect, seed: options.seed, seconds: options.seconds, ...verdict, faults: tally, left, writerErrors}
  } finally {
    for (const child of children) {
      child.process.kill('SIGCONT')
      child.process.kill('SIGKILL')
    }
    host?.process.kill('SIGKILL')
    await redis?.stop()
    await db.drop()
    rmSync(dir, {recursive: true, force: true})
  }
}

/** Recovers and flushes until nothing is pending or in flight (or a minute passes); returns what is left. */
async function drain(configFile: string): Promise<ChaosResult['left']> {
  const cli = async (...args: string[]) => exitWithin(startCli([...args, '--config', configFile, '--json']), 60_000)
  let left = {pending: -1, inflight: -1, deadLetters: -1}
  for (let attempt = 0; attempt < 20; attempt++) {
    await cli('locks', 'release', 'flush', '--force', '--yes')
    await cli('recover')
    await cli('flush', '--wait', '10s')
    const status = await cli('status')
    if (status.code !== 0) continue
    const report = JSON.parse(status.stdout) as StatusJson
    left = {
      pending: report.tables.reduce((n, t) => n + t.counters.keys + t.updates.rows + t.inserts.rows, 0),
      inflight: report.tables.reduce((n, t) => n + t.inflight.batches, 0),
      deadLetters: report.tables.reduce((n, t) => n + t.deadLetters, 0),
    }
    if (left.pending === 0 && left.inflight === 0) return left
    await sleep(500)
  }
  return left
}
