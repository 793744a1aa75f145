import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import type {WriteBuffer} from '../../../src/core/buffer/write-buffer.js'
import {dialectsUp, openTestDb, type DialectName, type TestDb} from '../../support/db.js'
import {cleanRedisPrefix, driversUp, engineConfig, openEngine} from '../../support/engine.js'
import {uniquePrefix} from '../../support/services.js'

/** A redis-driver engine on one dialect's test database, for one describe block. */
function engineOn(dialect: DialectName, up: boolean): {db: () => TestDb; wb: () => WriteBuffer; prefix: string} {
  const prefix = uniquePrefix()
  let db: TestDb
  let wb: WriteBuffer
  beforeAll(async () => {
    if (!up) return
    db = await openTestDb(dialect)
    wb = await openEngine(engineConfig('redis', db.url, prefix))
  })
  afterAll(async () => {
    if (!up) return
    await wb?.close()
    await db?.cleanup()
    await cleanRedisPrefix(prefix)
  })
  return {db: () => db, wb: () => wb, prefix}
}

describe.skipIf(!driversUp.redis || !dialectsUp.postgres)('review of the write path: grouped base reads, PostgreSQL', () => {
  const engine = engineOn('postgres', driversUp.redis && dialectsUp.postgres)

  it('cold get()s of one turn whose grouped statement would pass 65,535 bind parameters each get their total', async () => {
    const {knex, created} = engine.db()
    const table = `${engine.prefix}_wide`
    const columns = 70
    await knex.schema.createTable(table, (t) => {
      t.integer('id').primary()
      t.integer('views').notNullable()
      for (let c = 0; c < columns; c++) t.integer(`c${c}`).notNullable().defaultTo(0)
    })
    created.push(table)
    const rows = 1000
    for (let i = 0; i < rows; i += 200) await knex(table).insert(Array.from({length: 200}, (_, j) => ({id: i + j + 1, views: i + j + 1})))
    // A where of 71 columns is a valid row address; 1,000 of them in one statement are 71,000 bindings.
    const where = (id: number) => Object.fromEntries([['id', id], ...Array.from({length: columns}, (_, c) => [`c${c}`, 0])]) as Record<string, number>
    const results = await Promise.allSettled(
      Array.from({length: rows}, (_, i) =>
        engine
          .wb()
          .table(table)
          .where(where(i + 1))
          .get('views'),
      ),
    )
    const rejected = results.filter((r) => r.status === 'rejected').length
    expect(rejected).toBe(0)
    expect(results.map((r) => (r as PromiseFulfilledResult<number>).value)).toEqual(Array.from({length: rows}, (_, i) => i + 1))
  })

  // Known limitation (README, "get() and increment() totals"): the ack moves a delta into the cached
  // base of the spelling it was written through only, so another spelling's cached base is stale
  // until it expires. it.fails keeps the wanted behaviour written down: when it starts passing,
  // make this a plain it() and update the README.
  it.fails('a row reached through two spellings: after a flush, the spelling whose base is cached sees the deltas flushed through the other', async () => {
    const {knex, created} = engine.db()
    const table = `${engine.prefix}_alias`
    await knex.schema.createTable(table, (t) => {
      t.integer('id').primary()
      t.integer('views').notNullable()
    })
    created.push(table)
    await knex(table).insert({id: 1, views: 10})
    const wb = engine.wb()
    // PostgreSQL reads '01' as the integer 1: one row, two keys to the buffer.
    expect(await wb.table(table).where(1).get('views')).toBe(10)
    await wb.table(table).where('01').increment('views', 5)
    expect((await wb.flush({table})).status).toBe('ok')
    expect(Number((await knex(table).where({id: 1}).first()).views)).toBe(15)
    // The DB holds 15; the base cached through spelling 1 still says 10 (until it expires).
    expect(await wb.table(table).where(1).get('views')).toBe(15)
  })
})

describe.skipIf(!driversUp.redis || !dialectsUp.mysql)('review of the write path: grouped base reads, MariaDB', () => {
  const engine = engineOn('mysql', driversUp.redis && dialectsUp.mysql)

  it('the base read reaches the row the flush writes: a key that is not exactly an integer reads as no row', async () => {
    const {knex, created} = engine.db()
    const table = `${engine.prefix}_ints`
    await knex.schema.createTable(table, (t) => {
      t.bigInteger('id').primary()
      t.integer('views').notNullable()
    })
    created.push(table)
    await knex(table).insert({id: 1, views: 100})
    const wb = engine.wb()
    // MariaDB compares `id = '1abc'` as a double (row 1); the flush binds it exactly (no row).
    const total = await wb.table(table).where('1abc').increment('views', 5)
    const report = await wb.flush({table})
    const deadLettered = report.tables.reduce((sum, t) => sum + t.deadLettered, 0)
    expect(Number((await knex(table).where({id: 1}).first()).views)).toBe(100)
    expect(deadLettered).toBe(1)
    // The total said 105 for a row the delta never reached.
    expect(total).toBe(5)
    expect(await wb.table(table).where('1abc').get('views')).toBe(0)
  })

  it('a key whose text reads like a connection error (ECONNRESET) does not turn another read\'s failure into "unreachable" for the whole group', async () => {
    const {knex, created} = engine.db()
    const errors = `${engine.prefix}_errs`
    const posts = `${engine.prefix}_posts`
    await knex.schema.createTable(errors, (t) => {
      t.string('code', 40).primary()
      t.integer('n').notNullable()
    })
    await knex.schema.createTable(posts, (t) => {
      t.integer('id').primary()
      t.integer('views').notNullable()
    })
    created.push(errors, posts)
    await knex(errors).insert({code: 'ECONNRESET', n: 7})
    await knex(posts).insert({id: 1, views: 3})
    const wb = engine.wb()
    // knex quotes the statement, bound values included, in the error message of the grouped SELECT.
    const results = await Promise.allSettled([wb.table(errors).where({code: 'ECONNRESET'}).get('n'), wb.table(`${engine.prefix}_missing`).where(1).get('views'), wb.table(posts).where(1).get('views')])
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled'])
    expect((results[0] as PromiseFulfilledResult<number>).value).toBe(7)
    expect((results[2] as PromiseFulfilledResult<number>).value).toBe(3)
  })

  it('a refused row is dead-lettered even when a row beside it holds the text ECONNRESET (the table is not stuck)', async () => {
    const {knex, created} = engine.db()
    const log = `${engine.prefix}_log`
    await knex.schema.createTable(log, (t) => {
      t.increments('id')
      t.string('msg', 100).notNullable()
    })
    created.push(log)
    const wb = engine.wb()
    await wb.table(log).insert([{msg: 'upstream ECONNRESET'}, {msg: 'x'.repeat(150)}])
    const report = await wb.flush({table: log})
    const table = report.tables.find((t) => t.table === log)!
    expect(table.deadLettered).toBe(1)
    expect((await knex(log).select('msg')).map((row: {msg: string}) => row.msg)).toEqual(['upstream ECONNRESET'])
  })
})
