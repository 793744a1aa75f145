import {describe, expect, it} from 'vitest'

import type {Entry} from '../../../src/core/buffer/entries.js'
import {applyEntries, RowsNotFound} from '../../../src/core/sql/apply.js'
import {dialectsUp, openTestDb, type DialectName, type TestDb} from '../../support/db.js'
import {uniquePrefix} from '../../support/services.js'

/** Entries reach exactly the rows their keys name, writes apply in rank order, sessions are left as found. */

const apply = (db: TestDb, table: string, entries: Entry[]) => db.knex.transaction((trx) => applyEntries(trx, db.dialect, table, entries, 1000, db.knex))
const counter = (where: Record<string, string | number>, deltas: Record<string, number>): Entry => ({kind: 'counter', members: [], where, deltas})
const update = (where: Record<string, string | number>, fields: Record<string, string | number>, at?: number): Entry => ({kind: 'update', member: '', where, fields, ...(at === undefined ? {} : {at})})

async function withDb(dialect: DialectName, work: (db: TestDb, table: string) => Promise<void>): Promise<void> {
  const db = await openTestDb(dialect)
  const table = `${uniquePrefix()}_exact`
  db.created.push(table)
  try {
    await work(db, table)
  } finally {
    await db.cleanup()
  }
}

const failure = (promise: Promise<unknown>) =>
  promise.then(
    () => null,
    (error: unknown) => error,
  )

describe.each(['sqlite', 'postgres', 'mysql'] as DialectName[])('exact reach on %s', (dialect) => {
  it.skipIf(!dialectsUp[dialect])('a missing row is found even when another entry reaches several rows (no unique key)', async () => {
    await withDb(dialect, async (db, table) => {
      await db.knex.schema.createTable(table, (t) => {
        t.string('tenant', 10)
        t.integer('hits').notNullable().defaultTo(0)
      })
      await db.knex(table).insert([{tenant: 'a'}, {tenant: 'a'}])
      const entries = [counter({tenant: 'a'}, {hits: 1}), counter({tenant: 'zz'}, {hits: 1})]
      const error = await failure(apply(db, table, entries))
      expect(error).toBeInstanceOf(RowsNotFound)
      expect((error as RowsNotFound).indexes).toEqual([1])
      expect((await db.knex(table).select('hits')).map((r) => Number(r.hits))).toEqual([0, 0])
    })
  })

  it.skipIf(!dialectsUp[dialect])('updates through two key-column sets of one row: the newest write wins', async () => {
    await withDb(dialect, async (db, table) => {
      await db.knex.schema.createTable(table, (t) => {
        t.integer('id').primary()
        t.string('tenant', 10)
        t.string('title', 10)
        t.string('body', 10)
      })
      await db.knex(table).insert([{id: 1, tenant: 'a', title: 'orig', body: 'orig'}])
      await apply(db, table, [update({id: 1}, {title: 'old', body: 'old'}, 100), update({id: 1, tenant: 'a'}, {title: 'mid'}, 200), update({id: 1}, {title: 'newest'}, 300)])
      expect(await db.knex(table).select('title', 'body')).toEqual([{title: 'newest', body: 'old'}])
    })
  })
})

describe('exact keys on mysql', () => {
  it.skipIf(!dialectsUp.mysql)('a key CAST would round or clamp reaches no row', async () => {
    await withDb('mysql', async (db, table) => {
      await db.knex.schema.createTable(table, (t) => {
        t.integer('id').primary()
        t.decimal('price', 10, 2).unique()
        t.integer('hits').notNullable().defaultTo(0)
      })
      await db.knex(table).insert([
        {id: 1, price: 1.01},
        {id: 2, price: 2},
      ])
      for (const where of [{id: 1.5}, {id: '1.5'}, {id: '99999999999999999999999'}, {price: '1.005'}, {price: 1.005}] as Array<Record<string, string | number>>) {
        const error = await failure(apply(db, table, [counter(where, {hits: 1})]))
        expect(error, JSON.stringify(where)).toBeInstanceOf(RowsNotFound)
      }
      await apply(db, table, [counter({id: '1.0'}, {hits: 1}), counter({id: ' 2 '}, {hits: 1}), counter({price: '1.010'}, {hits: 10}), counter({price: 2}, {hits: 10})])
      expect((await db.knex(table).select('id', 'hits').orderBy('id')).map((r) => [r.id, r.hits])).toEqual([
        [1, 11],
        [2, 11],
      ])
    })
  })

  it.skipIf(!dialectsUp.mysql)("the flush's time limits do not stay on the application's pooled session", async () => {
    await withDb('mysql', async (db, table) => {
      await db.knex.schema.createTable(table, (t) => {
        t.integer('id').primary()
        t.integer('hits').notNullable().defaultTo(0)
      })
      await db.knex(table).insert([{id: 1}])
      const session = async (conn: {raw: TestDb['knex']['raw']}) => {
        const [[row]] = await conn.raw('SELECT @@SESSION.innodb_lock_wait_timeout AS l, @@VERSION AS v')
        const mariadb = /mariadb/i.test(String(row.v))
        const [[time]] = mariadb ? await conn.raw('SELECT @@SESSION.max_statement_time AS m') : [[{m: null}]]
        return {l: Number(row.l), m: time.m === null ? null : Number(time.m)}
      }
      await db.knex.transaction(async (trx) => {
        // The application's own settings on the one connection the transaction holds.
        await trx.raw('SET SESSION innodb_lock_wait_timeout = 37')
        const before = await session(trx)
        await applyEntries(trx, 'mysql', table, [counter({id: 1}, {hits: 2})], 1000, db.knex, {statementTimeoutMs: 3000})
        expect(await session(trx)).toEqual(before)
        expect(before.l).toBe(37)
        const error = await failure(applyEntries(trx, 'mysql', table, [counter({id: 9}, {hits: 2})], 1000, db.knex, {statementTimeoutMs: 3000}))
        expect(error).toBeInstanceOf(RowsNotFound)
        expect(await session(trx)).toEqual(before)
      })
      expect(Number((await db.knex(table).first('hits')).hits)).toBe(2)
    })
  })
})

describe('table info on postgres', () => {
  it.skipIf(!dialectsUp.postgres)('a column added after the table info was cached gets its real type', async () => {
    await withDb('postgres', async (db, table) => {
      await db.knex.schema.createTable(table, (t) => {
        t.integer('id').primary()
        t.string('title', 10)
      })
      await db.knex(table).insert([{id: 1}])
      await apply(db, table, [update({id: 1}, {title: 'a'})])
      await db.knex.schema.alterTable(table, (t) => t.integer('score'))
      await apply(db, table, [update({id: 1}, {score: 7}), update({id: '1'}, {title: 'b'})])
      expect(await db.knex(table).select('title', 'score')).toEqual([{title: 'b', score: 7}])
    })
  })
})
