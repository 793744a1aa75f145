import {execFileSync} from 'node:child_process'
import {existsSync, mkdtempSync, readFileSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import knexFactory from 'knex'
import {afterAll, describe, expect, it} from 'vitest'

import {runCli} from '../support/cli.js'
import {until} from '../support/spawn.js'

const bin = join(import.meta.dirname, '..', '..', 'bin', 'run.js')
const hasTmux = (() => {
  try {
    execFileSync('tmux', ['-V'])
    return true
  } catch {
    if (process.env.CI === 'true') throw new Error('tmux is needed for the dashboard end-to-end test (CI=true)')
    console.warn('\n!!!! SKIPPING THE DASHBOARD END-TO-END TEST: tmux is not installed !!!!\n')
    return false
  }
})()

const session = `wbct${process.pid}`
const tmux = (...args: string[]) => execFileSync('tmux', ['-L', session, ...args], {encoding: 'utf8'})
const screen = () => tmux('capture-pane', '-p', '-t', 'dash')

/** The real binary in a real terminal (tmux, 80x24) against a running demo application. */
describe.skipIf(!hasTmux)('wbc dashboard in a terminal', () => {
  afterAll(() => {
    try {
      tmux('kill-server')
    } catch {
      // Already gone.
    }
  })

  it('f on demo_posts, confirmed, drains it: zero pending in the frame and every view in the database', async () => {
    const cwd = mkdtempSync(join(tmpdir(), 'wbc-dash-'))
    // No timed flush during the test: only the dashboard's flush moves data.
    writeFileSync(join(cwd, 'wbc.config.json'), JSON.stringify({buffer: {flushInterval: 600_000}}))
    // A person at a terminal: the dashboard refuses to start under CI, so CI is unset for it.
    const env = `cd ${cwd} && env -u CI NO_COLOR=1 ${process.execPath} ${bin}`
    tmux('new-session', '-d', '-s', 'app', '-x', '100', '-y', '10', `${env} demo --seconds 120 --rate 100 --idle-after 2 2> ${join(cwd, 'demo.log')}`)
    await until(() => existsSync(join(cwd, 'demo.log')) && readFileSync(join(cwd, 'demo.log'), 'utf8').includes('idle after'), 30_000, 'the demo to go idle')
    const idle = /idle after (\d+) views, (\d+) likes/.exec(readFileSync(join(cwd, 'demo.log'), 'utf8'))!
    const [views, likes] = [Number(idle[1]), Number(idle[2])]
    expect(views).toBeGreaterThan(0)

    tmux('new-session', '-d', '-s', 'dash', '-x', '80', '-y', '24', `${env} dashboard --interval 500ms`)
    await until(() => /demo_posts\s+[1-9]/.test(screen()), 20_000, 'demo_posts pending in the dashboard')
    const before = screen()
    for (const line of before.split('\n')) expect(line.length).toBeLessThanOrEqual(80)
    // Rows are sorted: demo_activity, demo_posts, demo_users.
    tmux('send-keys', '-t', 'dash', 'Down')
    await until(() => screen().includes('› demo_posts'), 5_000, 'demo_posts selected')
    tmux('send-keys', '-t', 'dash', 'f')
    await until(() => screen().includes('Flush demo_posts? (y/n)'), 5_000, 'the confirmation')
    tmux('send-keys', '-t', 'dash', 'y')
    await until(() => screen().includes('flushed demo_posts'), 15_000, 'the flush result')
    await until(() => /demo_posts\s+0\s+0\s+0\s+0\s+0/.test(screen()), 10_000, 'zero pending for demo_posts')

    const knex = knexFactory({client: 'better-sqlite3', connection: {filename: join(cwd, '.wbc/wbc.sqlite')}, useNullAsDefault: true})
    try {
      const [sums] = await knex('demo_posts').sum({views: 'views', likes: 'likes'})
      expect({views: Number(sums.views), likes: Number(sums.likes)}).toEqual({views, likes})
    } finally {
      await knex.destroy()
    }
    const status = JSON.parse((await runCli(['status', '--json', '--table', 'demo_posts'], {cwd})).stdout)
    expect(status.tables).toEqual([])

    tmux('send-keys', '-t', 'dash', 'q')
    await until(() => !tmux('list-sessions').includes('dash:'), 5_000, 'the dashboard to quit')
  })
})

describe('wbc dashboard without a terminal', () => {
  it('exits 2 pointing to wbc status --json', async () => {
    const {code, stderr} = await runCli(['dashboard'], {cwd: mkdtempSync(join(tmpdir(), 'wbc-dash-'))})
    expect(code).toBe(2)
    expect(stderr).toContain('wbc status --json')
  })
})
