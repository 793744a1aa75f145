import {mkdirSync, mkdtempSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import knexFactory from 'knex'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import type {WriteBuffer} from '../../src/core/buffer/write-buffer.js'
import {createPostsTable, openTestDb, type TestDb} from '../support/db.js'
import {cleanRedisPrefix, driversUp, openEngine} from '../support/engine.js'
import {runCli} from '../support/cli.js'
import {uniquePrefix, urls} from '../support/services.js'

const dir = () => mkdtempSync(join(tmpdir(), 'wbc-small-'))
const ESC = '\u001b['

describe('durations, config errors and colour through the CLI', () => {
  it('refuses a duration without a unit instead of reading it as milliseconds', async () => {
    for (const args of [
      ['status', '--max-age', '5'],
      ['compact', 'events', '--max-age', '300', '--dry-run'],
      ['flush', '--wait', '3'],
      ['dashboard', '--once', '--interval', '1'],
    ]) {
      const {code, stderr} = await runCli(args, {cwd: dir()})
      const flag = args.find((arg) => arg.startsWith('--') && arg !== '--dry-run' && arg !== '--once')!
      const value = args[args.indexOf(flag) + 1]
      expect({code, stderr}, args.join(' ')).toEqual({
        code: 2,
        stderr: `Error: ${flag}: "${value}" has no unit: ${value}ms, ${value}s, ${value}m, ${value}h or ${value}d?\nHint: Write the unit, e.g. ${value}s or ${value}m.\n`,
      })
    }
  })

  it('lists every problem of a config, not the first and a count', async () => {
    const cwd = dir()
    writeFileSync(join(cwd, 'wbc.config.json'), JSON.stringify({buffer: {flushInterval: 'often', maxQueueSize: -1}, streams: {events: {maxAge: '7'}}}))
    const {code, stdout} = await runCli(['config', '--json'], {cwd})
    expect(code).toBe(2)
    const {error} = JSON.parse(stdout)
    expect(error.code).toBe('CONFIG_INVALID')
    expect(error.message).toMatch(/wbc\.config\.json: 3 problems: /)
    expect(error.message).toContain('buffer.flushInterval: ')
    expect(error.message).toContain('buffer.maxQueueSize: ')
    expect(error.message).toContain('streams.events.maxAge: expected a duration with its unit, like 30s, 5m, 2h, 7d (a JSON number is milliseconds)')
    expect(error.message).not.toContain('more problem')
  })

  it('says where a JSON syntax error is (line and column) and never quotes the file', async () => {
    const cwd = dir()
    const text = '{\n  "connections": {"default": "postgres://app:hunter2-secret@db/app"},\n  "buffer": {"flushInterval": 5000,}\n}\n'
    writeFileSync(join(cwd, 'wbc.config.json'), text)
    const {code, stderr} = await runCli(['status'], {cwd})
    expect(code).toBe(2)
    expect(stderr).toBe(
      `Error: ${join(cwd, 'wbc.config.json')}:3:36: not valid JSON: expected another field (no comma after the last one) but found "}"\n` +
        'Hint: Fix the JSON syntax at that line and column (JSON has no comments and no comma after the last item).\n',
    )
    writeFileSync(join(cwd, 'wbc.config.json'), '{"connections": {"default": "postgres://app:hunter2-secret@db/app"} "x": tru}')
    const other = await runCli(['status', '--json'], {cwd})
    expect(JSON.parse(other.stdout).error.message).toMatch(/wbc\.config\.json:1:69: not valid JSON: expected "," or "}" but found "\\""$/)
    expect(other.stdout + other.stderr).not.toContain('hunter2')
  })

  it('--color colours into a pipe (even under NO_COLOR); --no-color and the default do not', async () => {
    const cwd = dir()
    const forced = await runCli(['doctor', '--color'], {cwd, env: {NO_COLOR: '1'}})
    expect(forced.stdout).toContain(`${ESC}32mok  ${ESC}39m config: built-in defaults`)
    const piped = await runCli(['doctor'], {cwd, env: {NO_COLOR: undefined}})
    expect(piped.stdout).toContain('ok   config: built-in defaults')
    expect(piped.stdout + piped.stderr).not.toContain(ESC)
    const off = await runCli(['doctor', '--no-color'], {cwd, env: {NO_COLOR: undefined}})
    expect(off.stdout + off.stderr).not.toContain(ESC)
  })
})

describe('the demo names what it found when the database differs', () => {
  it('lists the dead letters of its run (table, count, reason) instead of a bare MISMATCH', async () => {
    const cwd = dir()
    mkdirSync(join(cwd, '.wbc'), {mode: 0o700})
    const knex = knexFactory({client: 'better-sqlite3', connection: {filename: join(cwd, '.wbc/wbc.sqlite')}, useNullAsDefault: true})
    // The activity table refuses odd user ids: those rows become dead letters.
    await knex.raw('create table demo_activity (id integer primary key autoincrement, user_id integer not null check (user_id % 2 = 0), action varchar(20) not null, at varchar(40) not null)')
    await knex.destroy()
    const {code, stdout} = await runCli(['demo', '--seconds', '2', '--rate', '200', '--json'], {cwd, timeoutMs: 60_000})
    expect(code).toBe(1)
    const result = JSON.parse(stdout)
    expect(result.verified).toBe(false)
    expect(result.deadLetters).toEqual([{table: 'demo_activity', count: expect.any(Number), firstError: expect.stringContaining('CHECK constraint failed')}])
    const refused = result.deadLetters[0].count
    expect(refused).toBeGreaterThan(0)
    // Exactly the refused rows are missing.
    expect(result.written.activity - (result.database.after.activity - result.database.before.activity)).toBe(refused)

    const human = await runCli(['demo', '--seconds', '1', '--rate', '200'], {cwd, timeoutMs: 60_000})
    expect(human.code).toBe(1)
    const lines = human.stdout.trim().split('\n')
    expect(lines[2]).toMatch(/^MISMATCH: activity \d+ written, \+\d+ in the database$/)
    expect(lines[3]).toMatch(/^the database refused \d+ writes? of this run, kept as dead letters:$/)
    expect(lines[4]).toMatch(/^ {2}demo_activity: \d+ \(first: .*CHECK constraint failed.*\)$/)
    expect(lines[5]).toBe('see `wbc deadletter list`; fix the cause, then `wbc deadletter retry --all`')
  })
})

describe.skipIf(!driversUp.redis)('recover --dry-run and dashboard --once against redis', () => {
  const prefix = uniquePrefix()
  const posts = `${prefix}_posts`
  let db: TestDb
  let wb: WriteBuffer
  let cwd: string

  beforeAll(async () => {
    db = await openTestDb('sqlite')
    await createPostsTable(db, posts, 5)
    cwd = dir()
    const config = {ipc: {driver: 'redis', redis: urls.redis, prefix}, connections: {default: db.url}}
    writeFileSync(join(cwd, 'wbc.config.json'), JSON.stringify(config))
    wb = await openEngine(config as never)
  })
  afterAll(async () => {
    await wb?.close()
    await db?.cleanup()
    await cleanRedisPrefix(prefix)
  })

  it("does not count the batch of a live flusher (it holds the lease) as left behind; a dead holder's it does", async () => {
    await wb.table(posts).where(2).increment('views', 7)
    const claimed = await wb.steps.claim(prefix, {batchId: `0-${prefix}-live`, table: `default:${posts}`, createdAt: Date.now(), counters: [`default:${posts}:2:views`], updates: [], maxInserts: 0})
    expect(claimed.batch).not.toBeNull()
    // This test process is the live flusher: it holds the flush lease while its batch is in flight.
    const lease = await wb.ipc.lock(`${prefix}:lock:flush`, 60)
    expect(lease).not.toBeNull()
    const live = await runCli(['recover', '--dry-run', '--json'], {cwd})
    expect(live.code).toBe(0)
    expect(JSON.parse(live.stdout)).toMatchObject({mode: 'inflight', dryRun: true, found: {batches: 0}, inProgress: {batches: 1, pid: process.pid}})
    const human = await runCli(['recover', '--dry-run'], {cwd})
    expect(human.stdout).toMatch(/found: +0 batches in flight/)
    expect(human.stdout).toMatch(new RegExp(`in progress: +1 batches being flushed by .+ pid ${process.pid}, which holds the flush lease and finishes them itself: not left behind`))

    await wb.ipc.unlock(`${prefix}:lock:flush`, lease!.token)
    const left = await runCli(['recover', '--dry-run', '--json'], {cwd})
    expect(JSON.parse(left.stdout)).toMatchObject({found: {batches: 1}})
    expect(JSON.parse(left.stdout).inProgress).toBeUndefined()
    expect((await runCli(['recover', '--json'], {cwd})).code).toBe(0)
    expect((await db.knex(posts).where({id: 2}).first('views')).views).toBe(7)
  })

  it('dashboard --once prints one frame with no key hints', async () => {
    await wb.table(posts).where(3).increment('views', 1)
    const {code, stdout} = await runCli(['dashboard', '--once'], {cwd})
    expect(code).toBe(0)
    expect(stdout).toContain(posts)
    expect(stdout).not.toContain('q quit')
    expect(stdout).not.toContain('? help')
  })
})
