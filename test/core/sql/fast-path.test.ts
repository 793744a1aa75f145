import {describe, expect, it} from 'vitest'

import type {Entry} from '../../../src/core/buffer/entries.js'
import {applyEntries, entryStatements, RowsNotFound} from '../../../src/core/sql/apply.js'
import {tableInfo} from '../../../src/core/sql/table-info.js'
import {dialectsUp, openTestDb, type DialectName, type TestDb} from '../../support/db.js'
import {uniquePrefix} from '../../support/services.js'

/**
 * Groups of entries that cannot reach one row skip the aggregation per target row (a plain
 * `UPDATE … FROM v`); the others keep it. A row reached from both kinds of statement in one batch
 * gets every increment and the newest write. The plans are checked too, so these tests fail if
 * either path stops being taken.
 */

const apply = (db: TestDb, table: string, entries: Entry[]) => db.knex.transaction((trx) => applyEntries(trx, db.dialect, table, entries, 1000, db.knex))
const counter = (where: Record<string, string | number | boolean | null>, deltas: Record<string, number>): Entry => ({kind: 'counter', members: [], where, deltas})
const update = (where: Record<string, string | number | null>, fields: Record<string, string | number | null>, at?: number): Entry => ({
  kind: 'update',
  member: '',
  where,
  fields,
  ...(at === undefined ? {} : {at}),
})
const q = (db: TestDb, name: string) => (db.dialect === 'mysql' ? `\`${name}\`` : `"${name}"`)
const failure = (promise: Promise<unknown>) =>
  promise.then(
    () => null,
    (error: unknown) => error,
  )

async function withDb(dialect: DialectName, work: (db: TestDb, table: string) => Promise<void>): Promise<void> {
  const db = await openTestDb(dialect)
  const table = `${uniquePrefix()}_fast`
  db.created.push(table)
  try {
    await work(db, table)
  } finally {
    await db.cleanup()
  }
}

/** `t(id int primary key, tenant_id int, hits, likes, title, body)`, rows 1..n with tenant_id 7. */
async function createTable(db: TestDb, table: string, n: number): Promise<void> {
  await db.knex.schema.createTable(table, (t) => {
    t.integer('id').primary()
    t.integer('tenant_id').notNullable()
    t.integer('hits').notNullable().defaultTo(0)
    t.integer('likes')
    t.string('title', 20)
    t.string('body', 20)
  })
  for (let i = 0; i < n; i += 500) await db.knex(table).insert(Array.from({length: Math.min(500, n - i)}, (_, j) => ({id: i + j + 1, tenant_id: 7})))
}

/** Per UPDATE the plan runs: whether it aggregates per target row. */
async function aggregated(db: TestDb, table: string, entries: Entry[]): Promise<boolean[]> {
  const planned = entryStatements(db.dialect, table, entries, 1000, await tableInfo(db.knex, db.dialect, table))
  return planned.updates.map((statement) => /GROUP BY|OVER \(/.test(statement.sql))
}

describe.each(['sqlite', 'postgres', 'mysql'] as DialectName[])('plain and aggregated updates on %s', (dialect) => {
  it.skipIf(!dialectsUp[dialect])('one row reached by a plain and an aggregated statement gets every increment and the newest write', async () => {
    await withDb(dialect, async (db, table) => {
      await createTable(db, table, 3)
      const entries = [
        // Updates in time order: {id} (plain), {id, tenant_id} (plain), then {id} twice for row 1 (aggregated).
        update({id: 1}, {title: 'oldest', body: 'oldest'}, 100),
        update({id: 2}, {title: 'two'}, 110),
        update({id: 1, tenant_id: 7}, {title: 'middle', body: 'middle'}, 200),
        update({id: 1}, {title: 'newest'}, 300),
        update({id: '1'}, {title: 'older than newest'}, 250),
        // Counters: {id} spells row 1 twice (aggregated); {id, tenant_id} once per row (plain).
        counter({id: 1}, {hits: 1}),
        counter({id: '1'}, {hits: 10, likes: 5}),
        counter({id: 2}, {hits: 100}),
        counter({id: 1, tenant_id: 7}, {hits: 1000}),
        counter({id: '2', tenant_id: '7'}, {hits: 10000, likes: 1}),
      ]
      expect(await aggregated(db, table, entries)).toEqual([false, false, true, true, false])
      expect(await apply(db, table, entries)).toEqual({updates: 5, counters: 5, inserts: 0})
      const rows = await db.knex(table).select('id', 'hits', 'likes', 'title', 'body').orderBy('id')
      expect(rows.map((r) => [Number(r.id), Number(r.hits), r.likes === null ? null : Number(r.likes), r.title, r.body])).toEqual([
        [1, 1011, 5, 'newest', 'middle'],
        [2, 10100, 1, 'two', null],
        [3, 0, null, null, null],
      ])
    })
  })

  it.skipIf(!dialectsUp[dialect])('more entries than one statement holds: plain across chunks, aggregated when a row is spelled twice chunks apart', async () => {
    await withDb(dialect, async (db, table) => {
      const n = 6001
      await createTable(db, table, n)
      const distinct = Array.from({length: n}, (_, i) => counter({id: i + 1}, {hits: 1}))
      expect(new Set(await aggregated(db, table, distinct))).toEqual(new Set([false]))
      await apply(db, table, distinct)
      // Row 1 first as a number, last as a string: the same row in different chunks of one group.
      const twice = [...distinct, counter({id: '1'}, {hits: 5})]
      expect(new Set(await aggregated(db, table, twice))).toEqual(new Set([true]))
      await apply(db, table, twice)
      const [{sum}] = await db.knex(table).sum({sum: 'hits'})
      expect(Number(sum)).toBe(2 * n + 5)
      expect(Number((await db.knex(table).where({id: 1}).first('hits')).hits)).toBe(7)
      expect(Number((await db.knex(table).where({id: n}).first('hits')).hits)).toBe(2)
    })
  })

  it.skipIf(!dialectsUp[dialect])('the plain path finds a missing row, rolls back, and accepts a zero delta', async () => {
    await withDb(dialect, async (db, table) => {
      await createTable(db, table, 2)
      const entries = [counter({id: 1}, {hits: 3}), counter({id: 99}, {hits: 1}), counter({id: 2}, {hits: 4})]
      expect(await aggregated(db, table, entries)).toEqual([false])
      const error = await failure(apply(db, table, entries))
      expect(error).toBeInstanceOf(RowsNotFound)
      expect((error as RowsNotFound).indexes).toEqual([1])
      expect((await db.knex(table).select('hits')).map((r) => Number(r.hits))).toEqual([0, 0])
      // A row whose value does not change (MySQL does not count it as changed) is not missing.
      await apply(db, table, [counter({id: 1}, {hits: 0}), counter({id: 2}, {hits: 4}), update({id: 1}, {title: null}), update({id: 2}, {title: 'x'})])
      expect((await db.knex(table).select('hits', 'title').orderBy('id')).map((r) => [Number(r.hits), r.title])).toEqual([
        [0, null],
        [4, 'x'],
      ])
    })
  })

  it.skipIf(!dialectsUp[dialect] || dialect === 'mysql')('case-insensitive and blank-padded text keys are aggregated (SQLite NOCASE/RTRIM, PostgreSQL char(n))', async () => {
    await withDb(dialect, async (db, table) => {
      const key = dialect === 'sqlite' ? 'name text COLLATE NOCASE PRIMARY KEY, code text COLLATE RTRIM' : 'name char(6) PRIMARY KEY, code varchar(6)'
      await db.knex.raw(`CREATE TABLE ${q(db, table)} (${key}, hits integer NOT NULL DEFAULT 0)`)
      await db.knex(table).insert([
        {name: 'bob', code: 'a'},
        {name: 'eve', code: 'b'},
      ])
      const spelled = dialect === 'sqlite' ? ['bob', 'BOB', 'Bob'] : ['bob', 'bob ', 'bob  ']
      const entries = [...spelled.map((name, i) => counter({name}, {hits: 10 ** i})), counter({code: 'b'}, {hits: 1000}), counter({code: dialect === 'sqlite' ? 'b  ' : 'a'}, {hits: 10000})]
      expect(await aggregated(db, table, entries)).toEqual([true, dialect === 'sqlite'])
      await apply(db, table, entries)
      expect((await db.knex(table).select('hits').orderBy('code')).map((r) => Number(r.hits))).toEqual(dialect === 'sqlite' ? [111, 11000] : [10111, 1000])
    })
  })
})

describe('keys PostgreSQL compares by other rules', () => {
  it.skipIf(!dialectsUp.postgres)('a nondeterministic collation and citext: the spellings of one row are aggregated', async () => {
    const db = await openTestDb('postgres')
    const prefix = uniquePrefix()
    try {
      // Inside one transaction that is rolled back: the extension and the collation leave no trace.
      await db.knex
        .transaction(async (trx) => {
          await trx.raw('CREATE EXTENSION IF NOT EXISTS citext')
          await trx.raw(`CREATE COLLATION "${prefix}_ci" (provider = icu, locale = 'und-u-ks-level2', deterministic = false)`)
          const table = `${prefix}_ci`
          await trx.raw(`CREATE TABLE "${table}" (name varchar(10) COLLATE "${prefix}_ci" PRIMARY KEY, mail citext UNIQUE, hits integer NOT NULL DEFAULT 0)`)
          await trx.raw(`INSERT INTO "${table}" (name, mail) VALUES ('bob', 'bob@x'), ('eve', 'eve@x')`)
          const info = await tableInfo(trx as never, 'postgres', table)
          expect(info.keyRules).toEqual({hits: 'integer'})
          await applyEntries(
            trx,
            'postgres',
            table,
            [counter({name: 'bob'}, {hits: 1}), counter({name: 'BOB'}, {hits: 10}), counter({mail: 'EVE@X'}, {hits: 100}), counter({mail: 'eve@x'}, {hits: 1000})],
            1000,
            trx as never,
          )
          const rows = await trx.raw(`SELECT name, hits FROM "${table}" ORDER BY name`)
          expect(rows.rows.map((r: {name: string; hits: number}) => [r.name, r.hits])).toEqual([
            ['bob', 11],
            ['eve', 1100],
          ])
          throw new Error('rollback')
        })
        .catch((error: unknown) => {
          if (!(error instanceof Error && error.message === 'rollback')) throw error
        })
    } finally {
      await db.cleanup()
    }
  })
})
