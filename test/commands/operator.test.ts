import {mkdtempSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import type {WriteBuffer} from '../../src/core/buffer/write-buffer.js'
import {createPostsTable, createLogTable, dialectsUp, openTestDb, type TestDb} from '../support/db.js'
import {cleanRedisPrefix, driversUp, openEngine} from '../support/engine.js'
import {runCli} from '../support/cli.js'
import {uniquePrefix, urls} from '../support/services.js'

const up = driversUp.redis && dialectsUp.postgres
const SECRET = 'pw-never-shown-7731'

/** `wbc` as cron and people on call use it, against Redis and PostgreSQL. */
describe.skipIf(!up)('wbc against redis + postgres', () => {
  const prefix = uniquePrefix()
  const posts = `${prefix}_posts`
  const log = `${prefix}_log`
  let db: TestDb
  let wb: WriteBuffer
  let cwd: string
  const outputs: string[] = []
  const wbc = async (...args: string[]) => {
    const result = await runCli(args, {cwd})
    outputs.push(result.stdout, result.stderr)
    return result
  }

  beforeAll(async () => {
    db = await openTestDb('postgres')
    await createPostsTable(db, posts, 20)
    await createLogTable(db, log)
    cwd = mkdtempSync(join(tmpdir(), 'wbc-op-'))
    // The password is accepted (trust auth) but must never be printed.
    const pg = new URL(urls.postgres)
    pg.password = SECRET
    const config = {ipc: {driver: 'redis', redis: urls.redis, prefix}, connections: {default: pg.toString()}}
    writeFileSync(join(cwd, 'wbc.config.json'), JSON.stringify(config))
    wb = await openEngine(config as never)
  })
  afterAll(async () => {
    await wb?.close()
    await db?.cleanup()
    await cleanRedisPrefix(prefix)
    expect(outputs.join('\n')).not.toContain(SECRET)
  })

  it('status --json has the documented shape and exact counts', async () => {
    for (let id = 1; id <= 10; id++) await wb.table(posts).where(id).increment('views', id)
    await wb.table(posts).where(3).increment('likes')
    await wb.table(posts).where(4).update({title: 'four'})
    await wb.table(log).insert([
      {user_id: 1, action: 'a', seq: 1},
      {user_id: 2, action: 'b', seq: 2},
    ])
    const {code, stdout} = await wbc('status', '--json')
    expect(code).toBe(0)
    const report = JSON.parse(stdout)
    expect(Object.keys(report).sort()).toEqual(['badKeys', 'badKeysTotal', 'driver', 'lastFlush', 'lease', 'prefix', 'rollback', 'tables', 'target'])
    expect(report).toMatchObject({badKeys: [], badKeysTotal: 0, rollback: null})
    expect(report).toMatchObject({driver: 'redis', prefix, target: urls.redis, lease: null})
    expect(report.tables).toEqual([
      {connection: 'default', table: log, counters: {rows: 0, keys: 0}, updates: {rows: 0}, inserts: {rows: 2}, inflight: {batches: 0}, deadLetters: 0, oldestPendingMs: expect.any(Number)},
      {connection: 'default', table: posts, counters: {rows: 10, keys: 11}, updates: {rows: 1}, inserts: {rows: 0}, inflight: {batches: 0}, deadLetters: 0, oldestPendingMs: expect.any(Number)},
    ])
  })

  it('status with thresholds is a health check: exit 6 when exceeded, 0 when met', async () => {
    const over = await wbc('status', '--max-pending', '5', '--json')
    expect(over.code).toBe(6)
    expect(JSON.parse(over.stdout).breaches).toEqual([{connection: 'default', table: posts, check: 'max-pending', value: 11, limit: 5}])
    const fine = await wbc('status', '--max-pending', '1000', '--max-age', '1h')
    expect(fine.code).toBe(0)
    expect(fine.stdout).toContain('all thresholds met')
    expect((await wbc('status', '--max-age', 'soon')).code).toBe(2)
  })

  it('flush --dry-run claims nothing; flush writes exact totals; a second flush has nothing to do', async () => {
    const dry = await wbc('flush', '--dry-run', '--json')
    expect(dry.code).toBe(0)
    expect(JSON.parse(dry.stdout).tables.map((t: {table: string}) => t.table)).toEqual([log, posts])
    expect(Number((await db.knex(posts).sum({n: 'views'}))[0].n)).toBe(0)

    const {code, stdout} = await wbc('flush', '--json')
    expect(code).toBe(0)
    const result = JSON.parse(stdout)
    expect(result).toMatchObject({status: 'ok', fence: expect.any(Number), durationMs: expect.any(Number)})
    expect(result.tables).toEqual([
      {connection: 'default', table: log, counters: 0, updates: 0, inserts: 2, deadLettered: 0, recovered: 0},
      {connection: 'default', table: posts, counters: 10, updates: 1, inserts: 0, deadLettered: 0, recovered: 0},
    ])
    const rows = await db.knex(posts).select('id', 'views', 'likes', 'title').orderBy('id').limit(10)
    expect(rows.map((r) => r.views)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10])
    expect(rows[2].likes).toBe(1)
    expect(rows[3].title).toBe('four')
    expect(JSON.parse((await wbc('flush', '--json')).stdout).tables).toEqual([])
  })

  it('flush exits 4 while another live process holds the lease, and --wait lets it finish first', async () => {
    await wb.table(posts).where(1).increment('views')
    const lease = await wb.ipc.lock(`${prefix}:lock:flush`, 30)
    expect(lease).not.toBeNull()
    const held = await wbc('flush', '--json')
    expect(held.code).toBe(4)
    expect(JSON.parse(held.stdout)).toMatchObject({status: 'skipped', holder: {pid: process.pid}})
    const waiting = runCli(['flush', '--wait', '10s', '--json'], {cwd})
    await new Promise((resolve) => setTimeout(resolve, 700))
    await wb.ipc.unlock(`${prefix}:lock:flush`)
    const waited = await waiting
    outputs.push(waited.stdout, waited.stderr)
    expect(waited.code).toBe(0)
    expect(JSON.parse(waited.stdout).tables).toEqual([expect.objectContaining({table: posts, counters: 1})])
  })

  it('locks shows a live holder; release refuses it (exit 4) unless --force, and needs --yes without a terminal', async () => {
    const lease = await wb.ipc.lock(`${prefix}:lock:flush`, 30)
    const list = JSON.parse((await wbc('locks', '--json')).stdout)
    expect(list.locks).toEqual([
      {key: `${prefix}:lock:flush`, owner: lease!.token, host: lease!.host, pid: process.pid, alive: true, ageMs: expect.any(Number), ttlMs: expect.any(Number), fence: lease!.fence, legacy: false},
    ])
    const refused = await wbc('locks', 'release', 'flush', '--yes')
    expect(refused.code).toBe(4)
    expect(refused.stderr).toContain('--force')
    const noYes = await wbc('locks', 'release', 'flush', '--force')
    expect(noYes.code).toBe(2)
    expect(noYes.stderr).toContain('--yes')
    expect(await wb.ipc.inspectLock(`${prefix}:lock:flush`)).not.toBeNull()
    const forced = await wbc('locks', 'release', 'flush', '--force', '--yes', '--json')
    expect(forced.code).toBe(0)
    expect(JSON.parse(forced.stdout)).toMatchObject({released: true, forced: true})
    // The released holder cannot renew, and the next holder has a higher fence.
    expect(await wb.ipc.renew(lease!, 30)).toBe(false)
    const [event] = (await wb.ipc.lrange(`${prefix}:events`, -1, -1)) as Array<Record<string, unknown>>
    expect(event).toMatchObject({type: 'lease-released', key: `${prefix}:lock:flush`, forced: true, holder: `${lease!.host}:${process.pid}`, fence: lease!.fence})
    const next = await wb.ipc.lock(`${prefix}:lock:flush`, 1)
    expect(next!.fence).toBeGreaterThan(lease!.fence)
    await wb.ipc.unlock(`${prefix}:lock:flush`)
  })

  it('recover finishes a batch left in flight once; a second run applies nothing', async () => {
    await wb.table(posts).where(2).increment('views', 100)
    const batch = await wb.steps.claim(prefix, {batchId: `0-${prefix}-left`, table: `default:${posts}`, createdAt: Date.now(), counters: [`default:${posts}:2:views`], updates: [], maxInserts: 0})
    expect(batch.batch).not.toBeNull()
    const status = JSON.parse((await wbc('status', '--json', '--table', posts)).stdout)
    expect(status.tables[0].inflight).toEqual({batches: 1})
    const first = await wbc('recover', '--json')
    expect(first.code).toBe(0)
    expect(JSON.parse(first.stdout)).toMatchObject({mode: 'inflight', found: {batches: 1}, report: {status: 'ok', tables: [expect.objectContaining({table: posts, counters: 1, recovered: 1})]}})
    const second = await wbc('recover', '--json')
    expect(JSON.parse(second.stdout)).toMatchObject({found: {batches: 0}, report: {tables: []}})
    expect((await db.knex(posts).where({id: 2}).first('views')).views).toBe(102)
  })

  it('dead letters can be listed, retried and dropped; drop needs --yes without a terminal', async () => {
    await wb.table(posts).where(999).increment('views', 5)
    const flushed = await wbc('flush', '--json')
    expect(flushed.code).toBe(5)
    expect(JSON.parse(flushed.stdout).tables).toEqual([expect.objectContaining({table: posts, deadLettered: 1})])
    const listed = JSON.parse((await wbc('deadletter', 'list', '--json')).stdout).deadLetters
    expect(listed).toEqual([expect.objectContaining({table: posts, kind: 'counter', entry: {where: {id: '999'}, deltas: {views: 5}}})])
    expect((await wbc('deadletter', 'retry')).code).toBe(2)
    await db.knex(posts).insert({id: 999, views: 0, likes: 0})
    expect(JSON.parse((await wbc('deadletter', 'retry', '--table', posts, '--id', listed[0].id, '--json')).stdout)).toEqual({retried: 1, ids: [listed[0].id], alreadyApplied: [], inFlight: []})
    expect((await wbc('flush')).code).toBe(0)
    expect((await db.knex(posts).where({id: 999}).first('views')).views).toBe(5)
    await wb.table(posts).where(998).update({title: 'ghost'})
    await wbc('flush')
    expect((await wbc('deadletter', 'drop', '--all')).code).toBe(2)
    expect(JSON.parse((await wbc('deadletter', 'drop', '--all', '--yes', '--json')).stdout)).toEqual({dropped: 1})
  })

  it('get shows base, in flight, pending and total; pending pages with a cursor; metrics and doctor answer', async () => {
    await wb.table(posts).where(5).increment('views', 7)
    const view = JSON.parse((await wbc('get', posts, '5', 'views', '--json')).stdout)
    expect(view).toMatchObject({base: 5, inflight: 0, pending: 7, total: 12})
    for (let id = 6; id <= 9; id++) await wb.table(posts).where(id).increment('likes')
    const first = JSON.parse((await wbc('pending', '--type', 'counter', '--limit', '3', '--json')).stdout)
    expect(first.entries).toHaveLength(3)
    expect(first.entries[0]).not.toHaveProperty('value')
    const all = [...first.entries]
    let cursor = first.cursor
    while (cursor) {
      const page = JSON.parse((await wbc('pending', '--type', 'counter', '--limit', '3', '--cursor', cursor, '--json', '--show-values')).stdout)
      all.push(...page.entries)
      cursor = page.cursor
    }
    expect(new Set(all.map((e: {where: string; column: string}) => `${e.where}:${e.column}`))).toEqual(new Set(['5:views', '6:likes', '7:likes', '8:likes', '9:likes']))
    const metrics = await wbc('metrics')
    expect(metrics.stdout).toContain(`wbc_pending_counter_keys{prefix="${prefix}",driver="redis",connection="default",table="${posts}"} 5`)
    const doctor = await wbc('doctor', '--json')
    expect(doctor.code).toBe(0)
    expect(JSON.parse(doctor.stdout).checks.map((c: {name: string; ok: boolean}) => [c.name, c.ok])).toEqual([
      ['config', true],
      ['redis', true],
      ['state', true],
      ['redis persistence', true],
      ['rollback', true],
      ['database default', true],
    ])
  })
})

describe('wbc without a reachable state store', () => {
  it('exits 3 naming the socket when no memory-driver application runs', async () => {
    const cwd = mkdtempSync(join(tmpdir(), 'wbc-op-'))
    const {code, stderr} = await runCli(['status'], {cwd})
    expect(code).toBe(3)
    expect(stderr).toContain(join(cwd, '.wbc/wbc.sock'))
    expect(stderr).toContain('Hint: Start the application')
  })

  it('exits 3 naming Redis (password masked) when Redis is down', async () => {
    const cwd = mkdtempSync(join(tmpdir(), 'wbc-op-'))
    writeFileSync(join(cwd, 'wbc.config.json'), JSON.stringify({ipc: {driver: 'redis', redis: `redis://:${SECRET}@127.0.0.1:1`, connectTimeout: 500}}))
    const {code, stdout, stderr} = await runCli(['status', '--json'], {cwd})
    expect(code).toBe(3)
    expect(JSON.parse(stdout).error).toMatchObject({code: 'SERVICE_UNAVAILABLE', exitCode: 3})
    expect(stdout + stderr).toContain('redis://:***@127.0.0.1:1')
    expect(stdout + stderr).not.toContain(SECRET)
  })
})

describe('every command answers --help with examples', () => {
  const commands = [
    'config',
    'status',
    'pending',
    'get',
    'flush',
    'recover',
    'checkpoint',
    'locks',
    'locks release',
    'deadletter list',
    'deadletter retry',
    'deadletter drop',
    'doctor',
    'metrics',
    'demo',
    'dashboard',
    'streams',
    'streams tail',
    'compact',
  ]
  it.each(commands)('wbc %s --help', async (command) => {
    const {code, stdout} = await runCli([...command.split(' '), '--help'])
    expect(code).toBe(0)
    expect(stdout).toContain('USAGE')
    expect(stdout).toContain('EXAMPLES')
  })
})
