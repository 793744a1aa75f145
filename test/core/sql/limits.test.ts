import Database from 'better-sqlite3'
import {describe, expect, it} from 'vitest'

import type {Entry} from '../../../src/core/buffer/entries.js'
import {applyEntries} from '../../../src/core/sql/apply.js'
import {isTransient} from '../../../src/core/sql/errors.js'
import {dialectsUp, openTestDb, type DialectName, type TestDb} from '../../support/db.js'
import {uniquePrefix} from '../../support/services.js'

/**
 * A row another session keeps locked makes the flush transaction fail with a transient error
 * after `statementTimeoutMs` (so the batch is retried later) instead of waiting for the lock.
 */

const bump: Entry[] = [{kind: 'counter', members: [], where: {id: 1}, deltas: {views: 1}}]
const apply = (db: TestDb, table: string, statementTimeoutMs: number) => db.knex.transaction((trx) => applyEntries(trx, db.dialect, table, bump, 1000, db.knex, {statementTimeoutMs}))

async function createPosts(db: TestDb, table: string): Promise<void> {
  db.created.push(table)
  await db.knex.schema.createTable(table, (t) => {
    t.integer('id').primary()
    t.integer('views').notNullable().defaultTo(0)
  })
  await db.knex(table).insert([{id: 1}, {id: 2}])
}

describe.each(['postgres', 'mysql'] as DialectName[])('a locked row on %s', (dialect) => {
  it.skipIf(!dialectsUp[dialect])('fails the transaction with a transient error instead of waiting; applies once the lock is gone', async () => {
    const db = await openTestDb(dialect)
    const table = `${uniquePrefix()}_posts`
    try {
      await createPosts(db, table)
      const holder = await db.knex.transaction()
      try {
        await holder(table).where({id: 1}).forUpdate().select('id')
        const error = await apply(db, table, 300).catch((e: unknown) => e)
        expect(error).toBeInstanceOf(Error)
        expect(isTransient(error)).toBe(true)
      } finally {
        await holder.rollback()
      }
      expect(await apply(db, table, 300)).toEqual({updates: 0, counters: 1, inserts: 0})
      expect(Number((await db.knex(table).where({id: 1}).first('views')).views)).toBe(1)
    } finally {
      await db.cleanup()
    }
  })
})

describe('a write lock on sqlite', () => {
  it('another connection holding the write lock fails the transaction with a transient error', async () => {
    const db = await openTestDb('sqlite')
    const table = `${uniquePrefix()}_posts`
    try {
      await createPosts(db, table)
      const filename = db.url.replace(/^sqlite:/, '')
      const other = new Database(filename)
      other.pragma('journal_mode = WAL')
      try {
        other.exec('BEGIN IMMEDIATE')
        const error = await apply(db, table, 200).catch((e: unknown) => e)
        expect(error).toBeInstanceOf(Error)
        expect(isTransient(error)).toBe(true)
        other.exec('ROLLBACK')
      } finally {
        other.close()
      }
      expect(await apply(db, table, 200)).toEqual({updates: 0, counters: 1, inserts: 0})
      expect(Number((await db.knex(table).where({id: 1}).first('views')).views)).toBe(1)
    } finally {
      await db.cleanup()
    }
  })
})

describe('isTransient: the time limits', () => {
  it.each([
    ['PostgreSQL lock_timeout', {code: '55P03', message: 'canceling statement due to lock timeout'}],
    ['PostgreSQL statement_timeout', {code: '57014', message: 'canceling statement due to statement timeout'}],
    ['MySQL lock wait timeout', {code: 'ER_LOCK_WAIT_TIMEOUT', errno: 1205, message: 'Lock wait timeout exceeded'}],
    ['MariaDB max_statement_time', {code: 'ER_STATEMENT_TIMEOUT', errno: 1969, message: 'Query execution was interrupted (max_statement_time exceeded)'}],
    ['MySQL max_execution_time', {code: 'ER_QUERY_TIMEOUT', errno: 3024, message: 'maximum statement execution time exceeded'}],
    ['SQLite busy', {code: 'SQLITE_BUSY', message: 'database is locked'}],
  ])('%s is transient', (_, error) => {
    expect(isTransient(Object.assign(new Error(error.message), error))).toBe(true)
  })
})
