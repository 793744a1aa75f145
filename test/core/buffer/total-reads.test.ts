import knexFactory from 'knex'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {createWriteBuffer, type WriteBuffer} from '../../../src/core/buffer/write-buffer.js'
import {parseConfig} from '../../../src/core/config/load.js'
import {TotalUnavailable} from '../../../src/core/errors.js'
import {createIpc} from '../../../src/core/ipc/create.js'
import {createPostsTable, dialectsUp, openTestDb, type DialectName, type TestDb} from '../../support/db.js'
import {cleanRedisPrefix, driversUp, engineConfig, openEngine, type DriverName} from '../../support/engine.js'
import {uniquePrefix, urls} from '../../support/services.js'

const combos: Array<[DriverName, DialectName]> = []
for (const driver of ['memory', 'redis'] as const) for (const dialect of ['sqlite', 'postgres', 'mysql'] as const) combos.push([driver, dialect])

/** The base reads a knex instance runs (their statements select `… AS v0`), counted via its 'query' event. */
function countBaseReads(knex: {on: (event: 'query', listener: (query: {sql: string}) => void) => unknown}): {count: number} {
  const counter = {count: 0}
  knex.on('query', (query) => {
    if (/ AS v0\b/.test(query.sql)) counter.count++
  })
  return counter
}

describe.each(combos)('counter totals read together, %s + %s', (driver, dialect) => {
  const up = driversUp[driver] && dialectsUp[dialect]
  const prefix = uniquePrefix()
  let db: TestDb
  let wb: WriteBuffer
  let reads: {count: number}

  beforeAll(async () => {
    if (!up) return
    db = await openTestDb(dialect)
    wb = await openEngine(engineConfig(driver, db.url, prefix))
    reads = countBaseReads(wb.databases.get('default').knex)
  })
  afterAll(async () => {
    if (!up) return
    await wb?.close()
    await db?.cleanup()
    if (driver === 'redis') await cleanRedisPrefix(prefix)
  })

  /** A posts table whose row id has views = 10 × id. */
  async function seeded(name: string, rows: number): Promise<string> {
    const table = `${prefix}_${name}`
    await createPostsTable(db, table, rows)
    await db.knex(table).update({views: db.knex.raw('id * 10')})
    return table
  }

  it.skipIf(!up)('many cold counters asked for in one turn: exact totals from one base SELECT', async () => {
    const posts = await seeded('cold', 300)
    const ids = Array.from({length: 300}, (_, i) => i + 1)
    const before = reads.count
    const totals = await Promise.all(ids.map((id) => wb.table(posts).where(id).get('views')))
    expect(totals).toEqual(ids.map((id) => id * 10))
    expect(reads.count - before).toBe(1)
    // Cached now: no statement at all.
    expect(await Promise.all(ids.map((id) => wb.table(posts).where(id).get('views')))).toEqual(ids.map((id) => id * 10))
    expect(reads.count - before).toBe(1)
  })

  it.skipIf(!up)('first increments of many distinct rows return exact totals, with a base SELECT per turn, not per increment', async () => {
    const posts = await seeded('first', 400)
    const ids = Array.from({length: 400}, (_, i) => i + 1)
    const before = reads.count
    const totals = await Promise.all(
      ids.map((id) =>
        wb
          .table(posts)
          .where(id)
          .increment('views', id % 3 === 0 ? 2 : 1),
      ),
    )
    expect(totals).toEqual(ids.map((id) => id * 10 + (id % 3 === 0 ? 2 : 1)))
    // Increments travel in step calls of up to 16; each answer's turn reads its cold bases together.
    expect(reads.count - before).toBeLessThanOrEqual(Math.ceil(ids.length / 16))
    const report = await wb.flush({table: posts})
    expect(report.status).toBe('ok')
    const rows = await db.knex(posts).orderBy('id').select('id', 'views')
    expect(rows.map((r: {id: number; views: number}) => Number(r.views))).toEqual(totals)
  })

  it.skipIf(!up)('one row addressed several ways in one turn reads one base, and every total counts every delta once', async () => {
    const posts = await seeded('ways', 3)
    const before = reads.count
    const totals = await Promise.all([
      wb.table(posts).where(2).increment('views', 1),
      wb.table(posts).where('2').increment('views', 2),
      wb.table(posts).where({id: 2}).increment('views', 3),
      wb.table(posts).where({id: '2'}).increment('views', 4),
    ])
    // One counter: each total counts at least the deltas up to its own (in call order) and never more than all of them.
    let running = 20
    totals.forEach((total, i) => {
      running += i + 1
      expect(total).toBeGreaterThanOrEqual(running)
      expect(total).toBeLessThanOrEqual(30)
    })
    expect(Math.max(...totals)).toBe(30)
    expect(reads.count - before).toBeLessThanOrEqual(1)
    expect(await Promise.all([wb.table(posts).where(2).get('views'), wb.table(posts).where({id: '2'}).get('views')])).toEqual([30, 30])
  })

  it.skipIf(!up)('composite keys: one statement reads several rows and columns, each exactly', async () => {
    const table = `${prefix}_pairs`
    await db.knex.schema.dropTableIfExists(table)
    await db.knex.schema.createTable(table, (t) => {
      t.integer('a').notNullable()
      t.string('b', 20).notNullable()
      t.integer('views').notNullable()
      t.integer('likes').notNullable()
      t.primary(['a', 'b'])
    })
    db.created.push(table)
    await db.knex(table).insert([
      {a: 1, b: 'x', views: 11, likes: 5},
      {a: 1, b: 'y', views: 12, likes: 6},
      {a: 2, b: 'x', views: 21, likes: 7},
    ])
    const before = reads.count
    const got = await Promise.all([
      wb.table(table).where({a: 1, b: 'x'}).get('views'),
      wb.table(table).where({b: 'x', a: 1}).get('views'),
      wb.table(table).where({a: 1, b: 'y'}).get('views'),
      wb.table(table).where({a: 2, b: 'x'}).get('views'),
      wb.table(table).where({a: 2, b: 'x'}).get('likes'),
      wb.table(table).where({a: 3, b: 'x'}).get('views'),
    ])
    expect(got).toEqual([11, 11, 12, 21, 7, 0])
    expect(reads.count - before).toBe(1)
  })

  it.skipIf(!up)('a failed base read rejects its callers with TotalUnavailable; their deltas stay buffered; other counters are unharmed', async () => {
    const posts = await seeded('fail', 5)
    const missing = `${prefix}_missing`
    const results = await Promise.allSettled([
      wb.table(posts).where(1).increment('views', 1),
      wb.table(missing).where(1).increment('views', 5),
      wb.table(missing).where(2).increment('views', 6),
      wb.table(posts).where(2).increment('views', 2),
    ])
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'rejected', 'fulfilled'])
    expect((results[0] as PromiseFulfilledResult<number>).value).toBe(11)
    expect((results[3] as PromiseFulfilledResult<number>).value).toBe(22)
    for (const r of [results[1], results[2]]) expect((r as PromiseRejectedResult).reason).toBeInstanceOf(TotalUnavailable)
    // The deltas were stored before the read failed.
    expect((await wb.steps.readCounter(prefix, `default:${missing}:1:views`)).live).toBe(5)
    expect((await wb.steps.readCounter(prefix, `default:${missing}:2:views`)).live).toBe(6)
    const members = [1, 2].map((id) => `default:${missing}:${id}:views`)
    await wb.ipc.del(...members.map((member) => `${prefix}:c:${member}`))
    await wb.ipc.srem(`${prefix}:idx:counters`, ...members)
  })

  it.skipIf(!up || dialect !== 'postgres')('a key the database cannot cast fails only its own callers', async () => {
    const posts = await seeded('cast', 5)
    const results = await Promise.allSettled([wb.table(posts).where(3).get('views'), wb.table(posts).where('not-a-number').get('views'), wb.table(posts).where(4).get('views')])
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled'])
    expect((results[0] as PromiseFulfilledResult<number>).value).toBe(30)
    expect((results[2] as PromiseFulfilledResult<number>).value).toBe(40)
  })
})

describe.skipIf(!driversUp.redis)('counter totals when the database is unreachable', () => {
  it('every caller of the read gets the error, from one attempt; the deltas stay buffered', async () => {
    const prefix = uniquePrefix()
    const knex = knexFactory({client: 'pg', connection: 'postgres://postgres@127.0.0.1:1/none', pool: {min: 0, max: 2}, acquireConnectionTimeout: 2000, log: {error: () => {}}})
    // Connections asked for: one per statement tried.
    let attempts = 0
    const acquire = knex.client.acquireConnection.bind(knex.client)
    knex.client.acquireConnection = () => {
      attempts++
      return acquire()
    }
    const ipc = await createIpc(parseConfig({ipc: {driver: 'redis', redis: urls.redis, prefix}}).ipc)
    const wb = await createWriteBuffer({ipc, prefix, connections: {default: knex}}, {timers: false})
    try {
      const results = await Promise.allSettled([1, 2, 3].map((id) => wb.table('posts').where(id).increment('views', id)))
      expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected', 'rejected'])
      for (const r of results) expect((r as PromiseRejectedResult).reason).toBeInstanceOf(TotalUnavailable)
      expect(attempts).toBe(1)
      for (const id of [1, 2, 3]) expect((await wb.steps.readCounter(prefix, `default:posts:${id}:views`)).live).toBe(id)
    } finally {
      await wb.disconnect()
      await ipc.close()
      await knex.destroy()
      await cleanRedisPrefix(prefix)
    }
  })
})
