import {describe, expect, it} from 'vitest'

import type {Entry} from '../../../src/core/buffer/entries.js'
import {applyEntries} from '../../../src/core/sql/apply.js'
import {createLogTable, dialectsUp, openTestDb, type DialectName} from '../../support/db.js'
import {uniquePrefix} from '../../support/services.js'

describe.each(['sqlite', 'postgres', 'mysql'] as DialectName[])('applyEntries on %s', (dialect) => {
  it.skipIf(!dialectsUp[dialect])('inserts 1,200 rows in one transaction with insertBatchSize 1000 (SQLite caps a compound INSERT at 500)', async () => {
    const db = await openTestDb(dialect)
    const log = `${uniquePrefix()}_log`
    try {
      await createLogTable(db, log)
      const entries: Entry[] = Array.from({length: 1200}, (_, i) => ({kind: 'insert', row: {user_id: i, action: 'a', seq: i}}))
      const counts = await db.knex.transaction((trx) => applyEntries(trx, dialect === 'sqlite' ? 'sqlite' : dialect, log, entries, 1000))
      expect(counts).toEqual({updates: 0, counters: 0, inserts: 1200})
      expect(Number((await db.knex(log).count({n: '*'}))[0].n)).toBe(1200)
    } finally {
      await db.cleanup()
    }
  })
})
