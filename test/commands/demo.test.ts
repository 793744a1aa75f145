import {spawn} from 'node:child_process'
import {existsSync, mkdtempSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import knexFactory from 'knex'
import {describe, expect, it} from 'vitest'

import {runCli} from '../support/cli.js'
import {until} from '../support/spawn.js'

const bin = join(import.meta.dirname, '..', '..', 'bin', 'run.js')

function startDemo(cwd: string, seconds: number) {
  const env: Record<string, string | undefined> = {...process.env, NO_COLOR: '1'}
  for (const name of ['WBC_CONFIG', 'WBC_REDIS_URL', 'DATABASE_URL']) delete env[name]
  const child = spawn(process.execPath, [bin, 'demo', '--seconds', String(seconds), '--rate', '300'], {cwd, env, stdio: ['ignore', 'pipe', 'pipe']})
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (c) => (stdout += c))
  child.stderr.on('data', (c) => (stderr += c))
  const exit = new Promise<{code: number | null; signal: NodeJS.Signals | null}>((resolve) => child.on('exit', (code, signal) => resolve({code, signal})))
  return {child, exit, output: () => ({stdout, stderr})}
}

const sumViews = async (cwd: string) => {
  const knex = knexFactory({client: 'better-sqlite3', connection: {filename: join(cwd, '.wbc/wbc.sqlite')}, useNullAsDefault: true})
  try {
    return Number((await knex('demo_posts').sum({n: 'views'}))[0].n ?? 0)
  } finally {
    await knex.destroy()
  }
}

/** The embedded default end to end: the demo application, and `wbc` driving it over its socket. */
describe('wbc demo on the embedded default (memory driver, SQLite)', () => {
  it('runs, is visible and flushable from another process, and ends with the database verified', async () => {
    const cwd = mkdtempSync(join(tmpdir(), 'wbc-demo-'))
    const demo = startDemo(cwd, 6)
    await until(() => existsSync(join(cwd, '.wbc/wbc.sock')), 20_000, 'the demo socket')
    await until(async () => JSON.parse((await runCli(['status', '--json'], {cwd})).stdout).tables.length === 3, 10_000, 'pending data')

    const status = JSON.parse((await runCli(['status', '--json'], {cwd})).stdout)
    expect(status.driver).toBe('memory')
    expect(status.tables.map((t: {table: string}) => t.table)).toEqual(['demo_activity', 'demo_posts', 'demo_users'])

    const before = await sumViews(cwd)
    const flushed = await runCli(['flush', '--table', 'demo_posts', '--json'], {cwd})
    expect(flushed.code).toBe(0)
    const result = JSON.parse(flushed.stdout)
    expect(result.tables).toEqual([expect.objectContaining({table: 'demo_posts', deadLettered: 0})])
    expect(result.tables[0].counters).toBeGreaterThan(0)
    expect(await sumViews(cwd)).toBeGreaterThan(before)

    const {code} = await demo.exit
    expect(code).toBe(0)
    expect(demo.output().stdout).toContain('verified: the database holds exactly what was written')
  })

  it('SIGTERM under load: intake stops, the final flush lands every acknowledged write', async () => {
    const cwd = mkdtempSync(join(tmpdir(), 'wbc-demo-'))
    const demo = startDemo(cwd, 120)
    await until(() => existsSync(join(cwd, '.wbc/wbc.sock')), 20_000, 'the demo socket')
    await until(async () => JSON.parse((await runCli(['status', '--json'], {cwd})).stdout).tables.length === 3, 10_000, 'pending data')
    demo.child.kill('SIGTERM')
    const {code} = await demo.exit
    expect(code).toBe(0)
    const {stdout} = demo.output()
    expect(stdout).toContain('verified: the database holds exactly what was written')
    const written = Number(/wrote (\d+) views/.exec(stdout)![1])
    expect(written).toBeGreaterThan(0)
    expect(await sumViews(cwd)).toBe(written)
  })

  it('after the application is killed, recover applies its checkpoint once', async () => {
    const cwd = mkdtempSync(join(tmpdir(), 'wbc-demo-'))
    const demo = startDemo(cwd, 60)
    await until(() => existsSync(join(cwd, '.wbc/wbc.sock')), 20_000, 'the demo socket')
    // Let pending data reach a checkpoint (every 30 s by default): force one instead.
    await until(async () => JSON.parse((await runCli(['status', '--json'], {cwd})).stdout).tables.length === 3, 10_000, 'pending data')
    const cp = await runCli(['checkpoint', '--json'], {cwd})
    expect(cp.code).toBe(0)
    const held = JSON.parse(cp.stdout)
    expect(held.counters).toBeGreaterThan(0)
    demo.child.kill('SIGKILL')
    await demo.exit

    const dry = JSON.parse((await runCli(['recover', '--dry-run', '--json'], {cwd})).stdout)
    expect(dry).toMatchObject({mode: 'checkpoint', dryRun: true})
    expect(dry.found.counters).toBeGreaterThanOrEqual(held.counters)
    const before = await sumViews(cwd)
    const first = await runCli(['recover', '--json'], {cwd})
    expect(first.code).toBe(0)
    const applied = JSON.parse(first.stdout)
    expect(applied.report.status).toBe('ok')
    const after = await sumViews(cwd)
    expect(after).toBeGreaterThan(before)
    const second = JSON.parse((await runCli(['recover', '--json'], {cwd})).stdout)
    expect(second.report.tables).toEqual([])
    expect(await sumViews(cwd)).toBe(after)
  })
})
