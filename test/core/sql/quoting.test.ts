import {describe, expect, it} from 'vitest'

import type {Entry} from '../../../src/core/buffer/entries.js'
import {applyEntries} from '../../../src/core/sql/apply.js'
import {quote} from '../../../src/core/sql/statements.js'
import {dialectsUp, openTestDb, type DialectName} from '../../support/db.js'
import {uniquePrefix} from '../../support/services.js'

describe('quote', () => {
  it('doubles the quote character, so a name cannot end the identifier', () => {
    expect(quote('postgres', 'a"b')).toBe('"a""b"')
    expect(quote('sqlite', '"; DROP TABLE x; --')).toBe('"""; DROP TABLE x; --"')
    expect(quote('mysql', 'a`b')).toBe('`a``b`')
    expect(quote('mysql', '`; DROP TABLE x; --')).toBe('```; DROP TABLE x; --`')
    // The other dialect's quote is an ordinary character.
    expect(quote('mysql', 'a"b')).toBe('`a"b`')
    expect(quote('postgres', 'a`b')).toBe('"a`b"')
  })

  it("escapes knex's placeholder, so a name cannot take a bound value", () => {
    expect(quote('postgres', 'a?b')).toBe('"a\\?b"')
  })
})

/** Tables and columns whose names hold the dialect's quote character, written through every statement kind. */
describe.each(['sqlite', 'postgres', 'mysql'] as DialectName[])('hostile names on %s', (dialect) => {
  it.skipIf(!dialectsUp[dialect])('updates, counters, checks and inserts reach the named table and columns', async () => {
    const db = await openTestDb(dialect)
    const mark = dialect === 'mysql' ? '`' : '"'
    const table = `${uniquePrefix()}_t${mark}x`
    const victim = `${uniquePrefix()}_victim`
    db.created.push(table, victim)
    const [key, hits, note] = [`k${mark}ey`, `hi${mark}ts); --`, `no${mark}${mark}te`]
    try {
      await db.knex.schema.createTable(victim, (t) => t.integer('id'))
      await db.knex.schema.createTable(table, (t) => {
        t.integer(key).primary()
        t.integer(hits).notNullable().defaultTo(0)
        t.string(note, 20)
      })
      await db.knex(table).insert([{[key]: 1}, {[key]: 2}])
      const entries: Entry[] = [
        {kind: 'update', member: '', where: {[key]: 1}, fields: {[note]: `it${mark}s`}},
        {kind: 'counter', members: [], where: {[key]: 2}, deltas: {[hits]: 5}},
        {kind: 'counter', members: [], where: {[key]: '2'}, deltas: {[hits]: 1}},
        {kind: 'insert', row: {[key]: 3, [note]: 'new'}},
      ]
      expect(await db.knex.transaction((trx) => applyEntries(trx, dialect, table, entries, 1000, db.knex))).toEqual({updates: 1, counters: 2, inserts: 1})
      const rows = await db.knex(table).select(key, hits, note).orderBy(key)
      expect(rows.map((r) => [Number(r[key]), Number(r[hits]), r[note]])).toEqual([
        [1, 0, `it${mark}s`],
        [2, 6, null],
        [3, 0, 'new'],
      ])
      // A missing row is found through the same quoting (the check statement).
      const missing = await db.knex
        .transaction((trx) => applyEntries(trx, dialect, table, [{kind: 'counter', members: [], where: {[key]: 9}, deltas: {[hits]: 1}}], 1000, db.knex))
        .catch((e: unknown) => e)
      expect(missing).toMatchObject({code: 'ROW_NOT_FOUND', indexes: [0]})
      expect(await db.knex.schema.hasTable(victim)).toBe(true)
    } finally {
      await db.cleanup()
    }
  })
})
