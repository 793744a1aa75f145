import {describe, expect, it} from 'vitest'

import type {Entry} from '../../../src/core/buffer/entries.js'
import {applyEntries} from '../../../src/core/sql/apply.js'
import {dialectsUp, openTestDb, type DialectName} from '../../support/db.js'
import {uniquePrefix} from '../../support/services.js'

describe.each(['sqlite', 'postgres', 'mysql'] as DialectName[])('queued inserts on %s', (dialect) => {
  it.skipIf(!dialectsUp[dialect])('a column a row leaves out gets its DEFAULT, next to rows that set it; rows keep queue order', async () => {
    const db = await openTestDb(dialect)
    const table = `${uniquePrefix()}_log`
    db.created.push(table)
    try {
      await db.knex.schema.createTable(table, (t) => {
        t.increments('id')
        t.integer('seq').notNullable()
        t.string('label', 20).defaultTo('dflt')
        t.integer('weight').notNullable().defaultTo(7)
      })
      const rows: Array<Record<string, string | number | null>> = [{seq: 1, label: 'x', weight: 1}, {seq: 2}, {seq: 3, weight: 3}, {seq: 4, label: null}, {seq: 5, label: 'y'}, {seq: 6}]
      const entries: Entry[] = rows.map((row) => ({kind: 'insert', row}))
      const counts = await db.knex.transaction((trx) => applyEntries(trx, dialect, table, entries, 1000, db.knex))
      expect(counts).toEqual({updates: 0, counters: 0, inserts: 6})
      const stored = await db.knex(table).select('id', 'seq', 'label', 'weight').orderBy('id')
      expect(stored.map((r) => [Number(r.id), r.seq, r.label, r.weight])).toEqual([
        [1, 1, 'x', 1],
        [2, 2, 'dflt', 7],
        [3, 3, 'dflt', 3],
        [4, 4, null, 7],
        [5, 5, 'y', 7],
        [6, 6, 'dflt', 7],
      ])
    } finally {
      await db.cleanup()
    }
  })
})
