import {describe, expect, it} from 'vitest'

import type {Entry} from '../../../src/core/buffer/entries.js'
import {applyEntries, RowsNotFound} from '../../../src/core/sql/apply.js'
import {dialectsUp, openTestDb, type DialectName, type TestDb} from '../../support/db.js'
import {uniquePrefix} from '../../support/services.js'

/** Several entries that reach one row (through different encodings of its key) all count, once each. */

const apply = (db: TestDb, table: string, entries: Entry[]) => db.knex.transaction((trx) => applyEntries(trx, db.dialect, table, entries, 1000, db.knex))

async function withDb(dialect: DialectName, work: (db: TestDb, name: (stem: string) => string) => Promise<void>): Promise<void> {
  const db = await openTestDb(dialect)
  const name = (stem: string) => {
    const table = `${uniquePrefix()}_${stem}`
    db.created.push(table)
    return table
  }
  try {
    await work(db, name)
  } finally {
    await db.cleanup()
  }
}

/** `daily(post_id int, day char(10), hits int, title, body)` with a composite primary key. */
async function createDaily(db: TestDb, table: string, rows: Array<{post_id: number; day: string}>): Promise<void> {
  await db.knex.schema.createTable(table, (t) => {
    t.integer('post_id').notNullable()
    t.string('day', 10).notNullable()
    t.integer('hits').notNullable().defaultTo(0)
    t.string('title', 40)
    t.string('body', 40)
    t.primary(['post_id', 'day'])
  })
  await db.knex(table).insert(rows)
}

const counter = (where: Record<string, string | number | boolean | null>, deltas: Record<string, number>): Entry => ({kind: 'counter', members: [], where, deltas})
const update = (where: Record<string, string | number | boolean | null>, fields: Record<string, string | number | null>, at?: number): Entry => ({
  kind: 'update',
  member: '',
  where,
  fields,
  ...(at === undefined ? {} : {at}),
})

describe.each(['sqlite', 'postgres', 'mysql'] as DialectName[])('entries reaching one row on %s', (dialect) => {
  it.skipIf(!dialectsUp[dialect])('increments through an integer and a string key (composite key) all count', async () => {
    await withDb(dialect, async (db, name) => {
      const daily = name('daily')
      await createDaily(db, daily, [
        {post_id: 1, day: '2024-05-01'},
        {post_id: 2, day: '2024-05-01'},
      ])
      const counts = await apply(db, daily, [
        counter({post_id: 1, day: '2024-05-01'}, {hits: 3}),
        counter({post_id: '1', day: '2024-05-01'}, {hits: 5}),
        counter({post_id: 2, day: '2024-05-01'}, {hits: 7}),
        counter({day: '2024-05-01', post_id: '2'}, {hits: 11}),
      ])
      expect(counts).toEqual({updates: 0, counters: 4, inserts: 0})
      const rows = await db.knex(daily).select('post_id', 'hits').orderBy('post_id')
      expect(rows.map((r) => [Number(r.post_id), Number(r.hits)])).toEqual([
        [1, 8],
        [2, 18],
      ])
    })
  })

  it.skipIf(!dialectsUp[dialect])('a missing row is still found when other entries share a row', async () => {
    await withDb(dialect, async (db, name) => {
      const daily = name('daily')
      await createDaily(db, daily, [{post_id: 1, day: '2024-05-01'}])
      const entries = [counter({post_id: 1, day: '2024-05-01'}, {hits: 3}), counter({post_id: '1', day: '2024-05-01'}, {hits: 5}), counter({post_id: 99, day: '2024-05-01'}, {hits: 1})]
      const error = await apply(db, daily, entries).catch((e: unknown) => e)
      expect(error).toBeInstanceOf(RowsNotFound)
      expect((error as RowsNotFound).indexes).toEqual([2])
      expect(Number((await db.knex(daily).first('hits')).hits)).toBe(0) // rolled back
      await apply(db, daily, entries.slice(0, 2))
      expect(Number((await db.knex(daily).first('hits')).hits)).toBe(8)
    })
  })

  it.skipIf(!dialectsUp[dialect])('column updates reaching one row merge field by field, the newest write winning', async () => {
    await withDb(dialect, async (db, name) => {
      const daily = name('daily')
      await createDaily(
        db,
        daily,
        [1, 2, 3, 4].map((post_id) => ({post_id, day: '2024-05-01'})),
      )
      const day = '2024-05-01'
      const counts = await apply(db, daily, [
        // Row 1: the first entry is newer; the second sets a column the first does not.
        update({post_id: 1, day}, {title: 'newer'}, 200),
        update({post_id: '1', day}, {title: 'older', body: 'only-older'}, 100),
        // Row 2: the later entry is newer.
        update({post_id: 2, day}, {title: 'older', body: 'b-older'}, 100),
        update({post_id: '2', day}, {title: 'newer', body: 'b-newer'}, 300),
        // Row 3: equal times: the later entry wins. Row 4: no times: the later entry wins.
        update({post_id: 3, day}, {title: 'first'}, 500),
        update({post_id: '3', day}, {title: 'second'}, 500),
        update({post_id: 4, day}, {title: 'first', body: null}),
        update({post_id: '4', day}, {title: 'second'}),
      ])
      expect(counts).toEqual({updates: 8, counters: 0, inserts: 0})
      const rows = await db.knex(daily).select('post_id', 'title', 'body').orderBy('post_id')
      expect(rows.map((r) => [Number(r.post_id), r.title, r.body])).toEqual([
        [1, 'newer', 'only-older'],
        [2, 'newer', 'b-newer'],
        [3, 'second', null],
        [4, 'second', null],
      ])
    })
  })

  it.skipIf(!dialectsUp[dialect])('updates reaching one row from different statements (more entries than one statement holds) still go by time', async () => {
    await withDb(dialect, async (db, name) => {
      const daily = name('daily')
      const n = 6001
      await db.knex.schema.createTable(daily, (t) => {
        t.integer('post_id').primary()
        t.string('title', 40)
      })
      for (let i = 0; i < n; i += 500) await db.knex(daily).insert(Array.from({length: Math.min(500, n - i)}, (_, j) => ({post_id: i + j + 1})))
      // Entry 0 (row 1) is the newest write; the row is reached again, older, by the last entry.
      const entries: Entry[] = [update({post_id: 1}, {title: 'newest'}, 9000)]
      for (let i = 2; i <= n; i++) entries.push(update({post_id: i}, {title: `t${i}`}, 1000 + i))
      entries.push(update({post_id: '1'}, {title: 'stale'}, 10))
      await apply(db, daily, entries)
      expect((await db.knex(daily).where({post_id: 1}).first('title')).title).toBe('newest')
      expect((await db.knex(daily).where({post_id: n}).first('title')).title).toBe(`t${n}`)
    })
  })

  it.skipIf(!dialectsUp[dialect] || dialect === 'sqlite')('char(n) keys: a value and its space-padded form are one row', async () => {
    await withDb(dialect, async (db, name) => {
      const codes = name('codes')
      await db.knex.raw(`CREATE TABLE ${dialect === 'mysql' ? `\`${codes}\`` : `"${codes}"`} (code char(4) PRIMARY KEY, hits integer NOT NULL DEFAULT 0, label varchar(20))`)
      await db.knex(codes).insert([{code: 'AB'}, {code: 'ABC'}])
      await apply(db, codes, [counter({code: 'AB'}, {hits: 2}), counter({code: 'AB  '}, {hits: 3}), update({code: 'ABC'}, {label: 'x'}, 20), update({code: 'ABC '}, {label: 'y'}, 10)])
      const rows = await db.knex(codes).select('code', 'hits', 'label').orderBy('code')
      expect(rows.map((r) => [String(r.code).trimEnd(), Number(r.hits), r.label])).toEqual([
        ['AB', 5, null],
        ['ABC', 0, 'x'],
      ])
    })
  })

  it.skipIf(!dialectsUp[dialect] || dialect !== 'mysql')('MariaDB case-insensitive collation: bob and Bob are one row', async () => {
    await withDb(dialect, async (db, name) => {
      const users = name('users')
      await db.knex.raw(`CREATE TABLE \`${users}\` (name varchar(20) COLLATE utf8mb4_general_ci PRIMARY KEY, hits int NOT NULL DEFAULT 0, bio varchar(20)) DEFAULT CHARSET=utf8mb4`)
      await db.knex(users).insert([{name: 'bob'}, {name: 'alice'}])
      await apply(db, users, [
        counter({name: 'bob'}, {hits: 3}),
        counter({name: 'Bob'}, {hits: 5}),
        counter({name: 'BOB'}, {hits: 1}),
        update({name: 'Alice'}, {bio: 'new'}, 2),
        update({name: 'alice'}, {bio: 'old'}, 1),
      ])
      const rows = await db.knex(users).select('name', 'hits', 'bio').orderBy('name')
      expect(rows.map((r) => [r.name, Number(r.hits), r.bio])).toEqual([
        ['alice', 0, 'new'],
        ['bob', 9, null],
      ])
    })
  })

  it.skipIf(!dialectsUp[dialect])('a table without a primary key: rows reached by a non-unique key each get every entry once', async () => {
    await withDb(dialect, async (db, name) => {
      const tags = name('tags')
      await db.knex.schema.createTable(tags, (t) => {
        t.string('tag', 20).notNullable()
        t.integer('n').notNullable().defaultTo(0)
      })
      await db.knex(tags).insert([{tag: 'a'}, {tag: 'a'}, {tag: 'b'}])
      await apply(db, tags, [counter({tag: 'a'}, {n: 2}), counter({tag: 'b'}, {n: 10}), counter({tag: 'a'}, {n: 3})])
      const rows = await db.knex(tags).select('tag', 'n').orderBy(['tag', 'n'])
      expect(rows.map((r) => [r.tag, Number(r.n)])).toEqual([
        ['a', 5],
        ['a', 5],
        ['b', 10],
      ])
    })
  })
})
