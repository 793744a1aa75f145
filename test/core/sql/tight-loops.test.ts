import {createRequire} from 'node:module'

import {describe, expect, it} from 'vitest'

import type {Entry} from '../../../src/core/buffer/entries.js'
import {applyEntries} from '../../../src/core/sql/apply.js'
import {spelling} from '../../../src/core/sql/same-row.js'
import {bindKey, exactDecimal} from '../../../src/core/sql/statements.js'
import {tableInfo} from '../../../src/core/sql/table-info.js'
import {arrayLiteral} from '../../../src/core/sql/unnest.js'
import {dialectsUp, openTestDb, type DialectName} from '../../support/db.js'
import {uniquePrefix} from '../../support/services.js'

/** The shortcuts of the statement builders (taken for every entry of a flush) answer as the long way does. */

const {prepareValue} = createRequire(import.meta.url)('pg/lib/utils') as {prepareValue: (value: unknown) => unknown}

describe('PostgreSQL arrays built as literals', () => {
  it('are the text the driver writes for the same array', () => {
    const values = [1, -0, 1.5, 1e21, NaN, 'plain', '', 'NULL', 'a"b', 'back\\slash', '\\"', ' spaced ', 'é漢😀', '{1,2}', null, undefined, true, false, {a: 'x"y'}, [1, null, 'q"'], [[1, 2], [3]]]
    expect(arrayLiteral(values)).toBe(prepareValue(values))
    expect(arrayLiteral([])).toBe(prepareValue([]))
  })
})

describe('MySQL integer keys', () => {
  // The long way: exactDecimal, then the range of the type.
  const exact = (value: string | number, unsigned: boolean) => {
    const text = exactDecimal(value)
    if (!text || text[2] !== '') return null
    const n = BigInt(text[0])
    return (unsigned ? n >= 0n && n < 2n ** 64n : n >= -(2n ** 63n) && n < 2n ** 63n) ? text[0] : null
  }
  const values = [
    0,
    -0,
    1,
    -1,
    42,
    Number.MAX_SAFE_INTEGER,
    -Number.MAX_SAFE_INTEGER,
    2 ** 53,
    1e21,
    1.5,
    '0',
    '-0',
    '1',
    '-1',
    '007',
    '+7',
    ' 7',
    '7 ',
    '7.0',
    '1e3',
    '123456789012345678',
    '-123456789012345678',
    '9223372036854775807',
    '9223372036854775808',
    '18446744073709551615',
    '18446744073709551616',
    '-9223372036854775808',
    'x',
    '',
  ]
  it.each(['SIGNED', 'UNSIGNED'])('bind as exactDecimal says (%s)', (type) => {
    for (const value of values) expect([value, bindKey('mysql', value, type)]).toEqual([value, exact(value, type === 'UNSIGNED')])
  })
})

describe('integer key spellings', () => {
  const values = [
    '0',
    '-0',
    '1',
    '-1',
    '007',
    '+7',
    ' 7',
    '7.0',
    '1e3',
    '123456789012345',
    '1234567890123456',
    '-123456789012345',
    '9007199254740993',
    '9'.repeat(99),
    '9'.repeat(100),
    '9'.repeat(101),
  ]
  it('PostgreSQL integer columns: the exact decimal, none for a fraction or a form it cannot read', () => {
    for (const value of values) {
      const text = exactDecimal(value)
      expect([value, spelling('integer', value)]).toEqual([value, text && text[2] === '' ? text[0] : undefined])
    }
  })
  it('SQLite: integer text of up to 15 digits is the number it spells', () => {
    for (const value of ['0', '1', '-1', '123456789012345', '-123456789012345']) expect(spelling('sqlite', value)).toBe(`n:${Number(value)}`)
    expect(spelling('sqlite', '-0')).toBe('n:0')
    expect(spelling('sqlite', '007')).toBe('n:7')
  })
})

describe.each(['sqlite', 'postgres', 'mysql'] as DialectName[])('column names that objects inherit on %s', (dialect) => {
  it.skipIf(!dialectsUp[dialect])('an entry that leaves out a column named constructor or toString leaves it alone', async () => {
    const db = await openTestDb(dialect)
    const table = `${uniquePrefix()}_inherit`
    db.created.push(table)
    try {
      await db.knex.schema.createTable(table, (t) => {
        t.integer('id').primary()
        t.integer('constructor').defaultTo(70)
        t.string('toString', 20).defaultTo('dflt')
        t.integer('hits').notNullable().defaultTo(0)
      })
      await db.knex(table).insert([{id: 1}, {id: 2}])
      const entries: Entry[] = [
        {kind: 'update', member: '', where: {id: 1}, fields: {constructor: 5, toString: 'set'}},
        {kind: 'update', member: '', where: {id: 2}, fields: {hits: 3}},
        {kind: 'counter', members: [], where: {id: 1}, deltas: {constructor: 2}},
        {kind: 'counter', members: [], where: {id: 2}, deltas: {hits: 1}},
        {kind: 'insert', row: {id: 3, constructor: 1, toString: 'row'}},
        {kind: 'insert', row: {id: 4, hits: 9}},
      ]
      await db.knex.transaction((trx) => applyEntries(trx, dialect, table, entries, 1000, db.knex))
      const rows = await db.knex(table).select('id', 'constructor', 'toString', 'hits').orderBy('id')
      const expected = [
        [1, 7, 'set', 0],
        [2, 70, 'dflt', 4],
        [3, 1, 'row', 0],
        [4, 70, 'dflt', 9],
      ]
      expect(rows.map((r) => [Number(r.id), Number(r.constructor), r.toString, Number(r.hits)])).toEqual(expected)
    } finally {
      await db.cleanup()
    }
  })

  it.skipIf(!dialectsUp[dialect])('a column named constructor or toString that the table lacks is unknown: the database refuses it, nothing is cast as a function', async () => {
    const db = await openTestDb(dialect)
    const table = `${uniquePrefix()}_noinherit`
    db.created.push(table)
    try {
      await db.knex.schema.createTable(table, (t) => {
        t.integer('id').primary()
        t.integer('hits').notNullable().defaultTo(0)
      })
      await db.knex(table).insert([{id: 1}])
      const info = await tableInfo(db.knex, dialect, table)
      expect('constructor' in info.types).toBe(false)
      expect(info.types.toString).toBeUndefined()
      expect('constructor' in info.keyRules).toBe(false)
      for (const entry of [
        {kind: 'counter', members: [], where: {id: 1}, deltas: {constructor: 2}},
        {kind: 'update', member: '', where: {id: 1}, fields: {toString: 'x'}},
        {kind: 'insert', row: {id: 2, constructor: 1}},
      ] as Entry[]) {
        const error = await db.knex
          .transaction((trx) => applyEntries(trx, dialect, table, [entry], 1000, db.knex))
          .then(
            () => null,
            (e: unknown) => e as Error,
          )
        expect(error, JSON.stringify(entry)).toBeInstanceOf(Error)
        expect(error?.message).not.toMatch(/function|native code/)
        expect(error?.message).toMatch(/constructor|toString|column/i)
      }
      expect(await db.knex(table).select('id', 'hits')).toEqual([{id: 1, hits: 0}])
    } finally {
      await db.cleanup()
    }
  })
})

describe('PostgreSQL type names that hold a question mark', () => {
  it.skipIf(!dialectsUp.postgres)('are escaped for knex: the values bind where they belong', async () => {
    const db = await openTestDb('postgres')
    const table = `${uniquePrefix()}_qtype`
    const type = `${table}_mo?od??`
    db.created.push(table)
    try {
      await db.knex.raw(`CREATE TYPE "${type.replaceAll('?', '\\?')}" AS ENUM ('sad', 'ok', 'happy')`)
      await db.knex.raw(`CREATE TABLE "${table}" (id integer PRIMARY KEY, mood "${type.replaceAll('?', '\\?')}" NOT NULL DEFAULT 'ok', hits integer NOT NULL DEFAULT 0)`)
      await db.knex(table).insert([{id: 1}, {id: 2}])
      const entries: Entry[] = [
        {kind: 'update', member: '', where: {id: 1}, fields: {mood: 'happy'}},
        {kind: 'counter', members: [], where: {id: 2}, deltas: {hits: 3}},
        ...Array.from({length: 70}, (_, i): Entry => ({kind: 'insert', row: {id: 10 + i, mood: i % 2 ? 'sad' : 'happy'}})),
      ]
      await db.knex.transaction((trx) => applyEntries(trx, 'postgres', table, entries, 1000, db.knex))
      const rows = (await db.knex(table).select('id', 'mood', 'hits').orderBy('id')) as Array<{id: number; mood: string; hits: number}>
      expect(rows.slice(0, 2)).toEqual([
        {id: 1, mood: 'happy', hits: 0},
        {id: 2, mood: 'ok', hits: 3},
      ])
      expect(rows.slice(2).map((r) => r.mood)).toEqual(Array.from({length: 70}, (_, i) => (i % 2 ? 'sad' : 'happy')))
    } finally {
      await db.knex.schema.dropTableIfExists(table)
      await db.knex.raw(`DROP TYPE IF EXISTS "${type.replaceAll('?', '\\?')}"`)
      await db.cleanup()
    }
  })
})
