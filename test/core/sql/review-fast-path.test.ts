import {describe, expect, it} from 'vitest'

import {dialectsUp, openTestDb, type DialectName, type TestDb} from '../../support/db.js'
import {engineConfig, openEngine} from '../../support/engine.js'
import {uniquePrefix} from '../../support/services.js'
import type {WriteBuffer} from '../../../src/core/buffer/write-buffer.js'

/**
 * Keys that reach one row through spellings the plain path (src/core/sql/same-row.ts) must not
 * tell apart: driven through the write buffer, flushed, and the row compared with the exact total.
 */

async function withEngine(dialect: DialectName, work: (db: TestDb, wb: WriteBuffer, table: string) => Promise<void>): Promise<void> {
  const db = await openTestDb(dialect)
  const table = `${uniquePrefix()}_review`
  db.created.push(table)
  const wb = await openEngine(engineConfig('memory', db.url), {checkpoint: false})
  try {
    await work(db, wb, table)
  } finally {
    await wb.close()
    await db.cleanup()
  }
}

describe('the plain path on SQLite', () => {
  it.skipIf(!dialectsUp.sqlite)('numeric text SQLite reads differently from JavaScript: every increment of one row counts', async () => {
    await withEngine('sqlite', async (db, wb, table) => {
      await db.knex.raw(`CREATE TABLE "${table}" (id INTEGER PRIMARY KEY, code REAL UNIQUE, hits INTEGER NOT NULL DEFAULT 0)`)
      await db.knex(table).insert([
        {id: 1, code: 0.3},
        {id: 2, code: 2.5},
      ])
      // SQLite keeps ~19 significant digits and drops the rest: this is 1 (and 0.3) to it, while
      // JavaScript rounds it to 1.0000000000000002 (and 0.30000000000000004).
      await wb.table(table).where('1').increment('hits', 1)
      await wb.table(table).where('1.00000000000000011102230246251566').increment('hits', 10)
      await wb.table(table).where({code: '0.3'}).increment('hits', 100)
      await wb.table(table).where({code: '0.30000000000000001665334536938156'}).increment('hits', 1000)
      const report = await wb.flush()
      expect(report.status).toBe('ok')
      const rows = await db.knex(table).select('id', 'hits').orderBy('id')
      expect(rows.map((r) => [Number(r.id), Number(r.hits)])).toEqual([
        [1, 1111],
        [2, 0],
      ])
    })
  })
})

describe('the plain path on PostgreSQL', () => {
  it.skipIf(!dialectsUp.postgres)('a key column moved to a nondeterministic collation while the engine runs: bob and BOB are one row', async () => {
    const collation = `${uniquePrefix()}_ci`
    await withEngine('postgres', async (db, wb, table) => {
      await db.knex.raw(`CREATE COLLATION "${collation}" (provider = icu, locale = 'und-u-ks-level2', deterministic = false)`)
      try {
        await db.knex.raw(`CREATE TABLE "${table}" (name varchar(20) PRIMARY KEY, hits integer NOT NULL DEFAULT 0)`)
        await db.knex(table).insert([{name: 'bob'}, {name: 'eve'}])
        // A first flush reads the table's info while the collation is still deterministic.
        await wb.table(table).where({name: 'eve'}).increment('hits', 1)
        expect((await wb.flush()).status).toBe('ok')
        await db.knex.raw(`ALTER TABLE "${table}" ALTER COLUMN name TYPE varchar(20) COLLATE "${collation}"`)
        await wb.table(table).where({name: 'bob'}).increment('hits', 1)
        await wb.table(table).where({name: 'BOB'}).increment('hits', 10)
        expect((await wb.flush()).status).toBe('ok')
        const rows = await db.knex(table).select('name', 'hits').orderBy('name')
        expect(rows.map((r) => [r.name, Number(r.hits)])).toEqual([
          ['bob', 11],
          ['eve', 1],
        ])
      } finally {
        await db.knex.schema.dropTableIfExists(table)
        await db.knex.raw(`DROP COLLATION IF EXISTS "${collation}"`)
      }
    })
  })
})
