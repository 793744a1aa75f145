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
