import {mkdtempSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import type {WriteBuffer} from '../../src/core/buffer/write-buffer.js'
import {createLogTable, createPostsTable, dialectsUp, openTestDb, type TestDb} from '../support/db.js'
import {cleanRedisPrefix, driversUp, openEngine} from '../support/engine.js'
import {runCli} from '../support/cli.js'
import {uniquePrefix, urls} from '../support/services.js'
import {TcpProxy} from '../support/tcp-proxy.js'

const up = driversUp.redis && dialectsUp.postgres

/**
 * A database outage is an outage (exit 3), not a partial flush: every table left pending is listed
 * with why, nothing is lost, and `get` says its base is cached. PostgreSQL goes "down" for wbc
 * only: its connection runs through a proxy the test closes.
 */
describe.skipIf(!up)('wbc while PostgreSQL is unreachable', () => {
  const prefix = uniquePrefix()
  const posts = `${prefix}_posts`
  const log = `${prefix}_log`
  const audit = `${prefix}_audit`
  const pg = new URL(urls.postgres)
  const proxy = new TcpProxy(pg.hostname, Number(pg.port || 5432))
  let db: TestDb
  let wb: WriteBuffer
  let cwd: string
  const wbc = (...args: string[]) => runCli(args, {cwd})
  const views = async () => Number((await db.knex(posts).sum({n: 'views'}))[0].n)
  const count = async (table: string) => Number((await db.knex(table).count({n: '*'}))[0].n)

  beforeAll(async () => {
    db = await openTestDb('postgres')
    await createPostsTable(db, posts, 10)
    await createLogTable(db, log)
    await createLogTable(db, audit)
    const port = await proxy.start()
    const viaProxy = new URL(urls.postgres)
    viaProxy.hostname = '127.0.0.1'
    viaProxy.port = String(port)
    cwd = mkdtempSync(join(tmpdir(), 'wbc-outage-'))
    writeFileSync(join(cwd, 'wbc.config.json'), JSON.stringify({ipc: {driver: 'redis', redis: urls.redis, prefix}, connections: {default: viaProxy.toString()}}))
    // The test's own engine reaches PostgreSQL directly, so it can write and check while wbc cannot.
    wb = await openEngine({ipc: {driver: 'redis', redis: urls.redis, prefix}, connections: {default: urls.postgres}} as never)
  })
  afterAll(async () => {
    await proxy.stop()
    await wb?.close()
    await db?.cleanup()
    await cleanRedisPrefix(prefix)
  })

  it('flush exits 3 and lists every table left pending with why; nothing is lost, and the next flush applies it once', async () => {
    for (let id = 1; id <= 5; id++) await wb.table(posts).where(id).increment('views', id)
    await wb.table(posts).where(6).update({title: 'six'})
    await wb.table(log).insert([
      {user_id: 1, action: 'a', seq: 1},
      {user_id: 2, action: 'b', seq: 2},
    ])
    await wb.table(audit).insert([{user_id: 3, action: 'c', seq: 3}])
    await proxy.stop()

    const down = await wbc('flush', '--json')
    expect(down.code).toBe(3)
    const result = JSON.parse(down.stdout)
    expect(result.status).toBe('partial')
    expect(result.unreachable).toEqual([{connection: 'default', error: expect.stringContaining('ECONNREFUSED')}])
    expect(result.tables.map((t: {table: string; unreachable?: boolean; error?: string}) => [t.table, t.unreachable, Boolean(t.error)])).toEqual([
      [audit, true, true],
      [log, true, true],
      [posts, true, true],
    ])
    // The first table tried carries the database's error; the others say they were not attempted.
    const notAttempted = result.tables.filter((t: {error: string}) => t.error === 'not attempted: connection default unreachable')
    expect(notAttempted.length).toBeGreaterThanOrEqual(2)

    const human = await wbc('flush')
    expect(human.code).toBe(3)
    expect(human.stdout).toContain('not attempted: connection default unreachable')
    for (const table of [posts, log, audit]) expect(human.stdout).toContain(table)
    expect(human.stderr).toContain('connection default is unreachable')

    const recover = await wbc('recover', '--json')
    expect(recover.code).toBe(3)
    const recovered = JSON.parse(recover.stdout)
    expect(recovered.report.unreachable).toEqual([{connection: 'default', error: expect.any(String)}])
    expect(recovered.report.tables.length).toBeGreaterThanOrEqual(1)
    for (const t of recovered.report.tables) expect(t).toMatchObject({unreachable: true, error: expect.any(String)})

    await proxy.start(proxy.port)
    const again = await wbc('flush', '--json')
    expect(again.code).toBe(0)
    expect(await views()).toBe(15)
    expect((await db.knex(posts).where({id: 6}).first('title')).title).toBe('six')
    expect(await count(log)).toBe(2)
    expect(await count(audit)).toBe(1)
    const status = JSON.parse((await wbc('status', '--json')).stdout)
    expect(status.tables).toEqual([])
  })

  it('recover exits 3 naming every table whose batch stays in flight, and finishes them once the database is back', async () => {
    await wb.table(posts).where(7).increment('views', 100)
    await wb.table(log).insert([{user_id: 7, action: 'z', seq: 7}])
    for (const [table, claim] of [
      [posts, {counters: [`default:${posts}:7:views`], updates: [], maxInserts: 0}],
      [log, {counters: [], updates: [], maxInserts: 10}],
    ] as const) {
      const {batch} = await wb.steps.claim(prefix, {
        batchId: `0-${prefix}-${table}`,
        table: `default:${table}`,
        createdAt: Date.now(),
        ...claim,
        updates: [...claim.updates],
        counters: [...claim.counters],
      })
      expect(batch).not.toBeNull()
    }
    await proxy.stop()
    const down = await wbc('recover', '--json')
    expect(down.code).toBe(3)
    const report = JSON.parse(down.stdout).report
    expect(report.tables.map((t: {table: string; unreachable: boolean}) => [t.table, t.unreachable])).toEqual([
      [log, true],
      [posts, true],
    ])
    expect(report.tables.map((t: {error: string}) => t.error)).toContain('not attempted: connection default unreachable (batch left in flight)')
    const human = await wbc('recover')
    expect(human.code).toBe(3)
    expect(human.stdout).toContain(`error default:${log}`)
    expect(human.stdout).toContain(`error default:${posts}`)
    expect(JSON.parse((await wbc('status', '--json')).stdout).tables.map((t: {inflight: {batches: number}}) => t.inflight.batches)).toEqual([1, 1])

    await proxy.start(proxy.port)
    const back = await wbc('recover', '--json')
    expect(back.code).toBe(0)
    expect(JSON.parse(back.stdout).report.tables.map((t: {table: string; recovered: number}) => [t.table, t.recovered])).toEqual([
      [log, 1],
      [posts, 1],
    ])
    expect(await views()).toBe(115)
    expect(await count(log)).toBe(3)
  })

  it('get says the base is cached (and how old it may be) when the database cannot be read', async () => {
    const first = JSON.parse((await wbc('get', posts, '10', 'views', '--json')).stdout)
    expect(first).toMatchObject({base: 0, pending: 0, total: 0, baseSource: 'database'})
    expect(first).not.toHaveProperty('databaseError')
    // An increment reads (and caches) the base.
    await wb.table(posts).where(8).increment('views', 3)
    const cachedUp = JSON.parse((await wbc('get', posts, '8', 'views', '--json')).stdout)
    expect(cachedUp).toMatchObject({base: 0, total: 3, baseSource: 'cache', baseMaxAgeMs: 300_000})
    expect(cachedUp).not.toHaveProperty('databaseError')

    await proxy.stop()
    const down = await wbc('get', posts, '8', 'views', '--json')
    expect(down.code).toBe(0)
    expect(JSON.parse(down.stdout)).toMatchObject({base: 0, pending: 3, total: 3, baseSource: 'cache', baseMaxAgeMs: 300_000, databaseError: expect.stringContaining('ECONNREFUSED')})
    const human = await wbc('get', posts, '8', 'views')
    expect(human.code).toBe(0)
    expect(human.stdout).toMatch(/db base:\s+0 \(cached, at most 5m old; the database is unreachable\)/)
    expect(human.stderr).toContain('the base is the cached copy')
    // No cached base: the total cannot be known without the database.
    const uncached = await wbc('get', posts, '9', 'views', '--json')
    expect(uncached.code).toBe(3)
    expect(JSON.parse(uncached.stdout).error).toMatchObject({code: 'SERVICE_UNAVAILABLE', exitCode: 3})
    await proxy.start(proxy.port)
  })
})
