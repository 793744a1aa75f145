import {describe, expect, it} from 'vitest'

import type {Entry} from '../../../src/core/buffer/entries.js'
import type {Json} from '../../../src/core/ipc/types.js'
import {applyEntries, entryStatements} from '../../../src/core/sql/apply.js'
import {bindValue} from '../../../src/core/sql/statements.js'
import {tableInfo} from '../../../src/core/sql/table-info.js'
import {dialectsUp, openTestDb, type DialectName, type TestDb} from '../../support/db.js'
import {uniquePrefix} from '../../support/services.js'

/**
 * Queued rows of every column type, NULLs and rows of different column sets in one batch land
 * exactly as a single-row INSERT of the same values would put them (a twin table is the
 * reference), left-out columns get their DEFAULT, and ids follow queue order. On PostgreSQL long
 * runs of one column set go as arrays (`unnest`), short ones as VALUES: both are in the batch.
 */

type Samples = Record<string, [type: string, values: Json[]]>

const SAMPLES: Record<DialectName, Samples> = {
  postgres: {
    c_enum: ['@mood', ['sad', 'ok', 'happy', null]],
    c_dom: ['@code', ['x1', `x"'\\`, null]],
    c_arr: [
      'integer[]',
      [
        [1, 2, 3],
        [],
        [null, 4],
        null,
        [
          [1, 2],
          [3, 4],
        ],
      ],
    ],
    c_tarr: ['text[]', [['a"b', 'c,d', 'NULL', null, 'x\\y', '{}', ' sp ', 'Zoë'], [], null]],
    c_json: ['json', [{a: [1, 'two'], 'q"': 'x\ny'}, [1, {b: null}], '"a string"', 12.5, true, null]],
    c_jsonb: ['jsonb', [{b: {c: null}, d: 'é'}, '[1, "x"]', null]],
    c_num: ['numeric(12,3)', ['12.3456', 7, -0.5, '1e3', null]],
    c_ts: ['timestamp', ['2024-01-02 03:04:05.678', '2024-02-29T23:59:59', null]],
    c_tstz: ['timestamptz', ['2024-01-01T02:00:00+01:00', null]],
    c_bytea: ['bytea', ['\\x0102ff', null, '\\x']],
    c_uuid: ['uuid', ['6F1C5A4E-0000-4000-8000-000000000002', null]],
    c_text: ['text', [`o'neil "q" \\ back`, 'line1\nline2\r\n\ttab', 'Zoë 😀 中文', '', 'NULL', null]],
    c_bool: ['boolean', [true, false, null]],
    c_char: ['char(4)', ['AU', 'A ', null]],
    c_date: ['date', ['2024-02-29', null]],
    c_big: ['bigint', ['9007199254740993', 5, null]],
    c_float: ['double precision', [0.1, -1e-7, null]],
  },
  mysql: {
    c_enum: [`enum('sad','ok','happy')`, ['sad', 'ok', null]],
    c_json: ['json', [{a: [1, 'two'], 'q"': 'x\ny'}, [1, {b: null}], null]],
    c_dec: ['decimal(12,3)', ['12.3456', 7, -0.5, null]],
    c_dt: ['datetime(3)', ['2024-01-02 03:04:05.678', null]],
    c_text: ['text', [`o'neil "q" \\ back`, 'line1\nline2\r\n\ttab', 'Zoë 😀 中文', '', null]],
    c_varchar: ['varchar(20)', ['abc', 'trailing  ', null]],
    c_bool: ['boolean', [true, false, null]],
    c_big: ['bigint', ['9007199254740993', 5, null]],
    c_date: ['date', ['2024-02-29', null]],
    c_float: ['double', [0.1, -1e-7, null]],
  },
  sqlite: {
    c_text: ['text', [`o'neil "q" \\ back`, 'line1\nline2\r\n\ttab', 'Zoë 😀 中文', '', null]],
    c_real: ['real', [2.5, -1e-7, null]],
    c_num: ['numeric', ['7', '1.50', 3, null]],
    c_json: ['text', [{a: [1, 'two']}, [1, 2], null]],
    c_bool: ['boolean', [true, false, null]],
    c_big: ['integer', ['9007199254740993', 5, null]],
  },
}

const q = (db: TestDb, name: string) => (db.dialect === 'mysql' ? `\`${name}\`` : `"${name}"`)
function asText(db: TestDb, column: string): string {
  if (db.dialect === 'mysql') return `CAST(${q(db, column)} AS CHAR)`
  if (db.dialect === 'sqlite') return `CAST(${q(db, column)} AS TEXT)`
  return column === 'c_tstz' ? `to_char(${q(db, column)} AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS')` : `${q(db, column)}::text`
}
function rowsOf(db: TestDb, result: unknown): Array<Record<string, unknown>> {
  if (db.dialect === 'postgres') return (result as {rows: Array<Record<string, unknown>>}).rows
  if (db.dialect === 'mysql') return (result as [Array<Record<string, unknown>>])[0]
  return result as Array<Record<string, unknown>>
}

describe.each(['sqlite', 'postgres', 'mysql'] as DialectName[])('queued rows of every type on %s', (dialect) => {
  it.skipIf(!dialectsUp[dialect])('land exactly as single-row INSERTs, with DEFAULTs, NULLs and queue order kept', async () => {
    const db = await openTestDb(dialect)
    const prefix = uniquePrefix()
    const types: string[] = []
    try {
      if (dialect === 'postgres') {
        await db.knex.raw(`CREATE TYPE "${prefix}_mood" AS ENUM ('sad', 'ok', 'happy')`)
        await db.knex.raw(`CREATE DOMAIN "${prefix}_code" AS varchar(8) CHECK (VALUE ~ '^x')`)
        types.push(`DOMAIN "${prefix}_code"`, `TYPE "${prefix}_mood"`)
      }
      const samples = SAMPLES[dialect]
      const [table, twin] = [`${prefix}_rows`, `${prefix}_twin`]
      const auto = dialect === 'postgres' ? 'serial PRIMARY KEY' : dialect === 'mysql' ? 'integer AUTO_INCREMENT PRIMARY KEY' : 'integer PRIMARY KEY AUTOINCREMENT'
      const columns = Object.entries(samples).map(([column, [type]]) => `${q(db, column)} ${type.startsWith('@') ? `"${prefix}_${type.slice(1)}"` : type}`)
      for (const name of [table, twin]) {
        db.created.push(name)
        await db.knex.raw(
          `CREATE TABLE ${q(db, name)} (id ${auto}, seq integer NOT NULL, ${columns.join(', ')}, c_dflt varchar(10) DEFAULT 'dflt')${dialect === 'mysql' ? ' DEFAULT CHARSET=utf8mb4' : ''}`,
        )
      }
      const names = Object.keys(samples)
      const full = (seq: number) => Object.fromEntries([['seq', seq], ...names.map((column, c) => [column, samples[column][1][(seq + c) % samples[column][1].length]])])
      const rows: Array<Record<string, Json>> = []
      // A long run of every column, three short runs of other sets, a long run with c_dflt set to NULL.
      for (let i = 0; i < 70; i++) rows.push(full(rows.length))
      rows.push({seq: rows.length, c_text: 'short'}, {seq: rows.length + 1}, {seq: rows.length + 2, c_dflt: 'set', c_text: null})
      for (let i = 0; i < 66; i++) rows.push({seq: rows.length, c_dflt: null, [names[0]]: samples[names[0]][1][i % samples[names[0]][1].length], [names[1]]: samples[names[1]][1][i % 2]})
      const entries: Entry[] = rows.map((row) => ({kind: 'insert', row}))

      const info = await tableInfo(db.knex, dialect, table)
      const planned = entryStatements(dialect, table, entries, 1000, info).inserts
      if (dialect === 'postgres') expect(planned.map((s) => s.sql.includes('unnest('))).toEqual([true, false, true])
      // insertBatchSize bounds array inserts too: it is what keeps each statement under the
      // statement timeout on a table whose inserts are slow (triggers).
      if (dialect === 'postgres') expect(entryStatements(dialect, table, entries, 32, info).inserts.map((s) => s.sql.includes('unnest('))).toEqual([true, true, true, false, true, true, true])
      expect(await db.knex.transaction((trx) => applyEntries(trx, dialect, table, entries, 1000, db.knex))).toEqual({updates: 0, counters: 0, inserts: rows.length})

      // The reference: one plain INSERT per row of the same bound values.
      const twinInfo = await tableInfo(db.knex, dialect, twin)
      for (const row of rows) {
        const cs = Object.keys(row)
        await db.knex.raw(
          `INSERT INTO ${q(db, twin)} (${cs.map((c) => q(db, c)).join(', ')}) VALUES (${cs.map(() => '?').join(', ')})`,
          cs.map((c) => bindValue(dialect, row[c], twinInfo.types[c])) as never[],
        )
      }
      const read = async (name: string) => rowsOf(db, await db.knex.raw(`SELECT ${['seq', ...names, 'c_dflt'].map((c) => `${asText(db, c)} AS ${c}`).join(', ')}, id FROM ${q(db, name)} ORDER BY id`))
      const stored = await read(table)
      expect(stored).toEqual(await read(twin))
      expect(stored.map((r) => [Number(r.id), r.seq])).toEqual(rows.map((_, i) => [i + 1, String(i)]))
      expect(stored.map((r) => r.c_dflt)).toEqual(rows.map((row) => ('c_dflt' in row ? row.c_dflt : 'dflt')))
      expect(stored[71]).toMatchObject({c_text: null, c_dflt: 'dflt'})
      // Spot checks by hand, so the twin cannot be wrong the same way unnoticed: the text of the
      // first row of the long run that holds sample `index` of `column`.
      const at = (column: string, index: number) => {
        const seq = rows.findIndex((_, r) => r < 70 && (r + names.indexOf(column)) % samples[column][1].length === index)
        return stored[seq][column]
      }
      const expected: Record<DialectName, Array<[string, number, string | null]>> = {
        postgres: [
          ['c_enum', 2, 'happy'],
          ['c_dom', 1, `x"'\\`],
          ['c_arr', 4, '{{1,2},{3,4}}'],
          ['c_arr', 2, '{NULL,4}'],
          ['c_tarr', 0, '{"a\\"b","c,d","NULL",NULL,"x\\\\y","{}"," sp ",Zoë}'],
          ['c_json', 0, '{"a":[1,"two"],"q\\"":"x\\ny"}'],
          ['c_json', 2, '"a string"'],
          ['c_jsonb', 0, '{"b": {"c": null}, "d": "é"}'],
          ['c_num', 0, '12.346'],
          ['c_num', 3, '1000.000'],
          ['c_ts', 0, '2024-01-02 03:04:05.678'],
          ['c_tstz', 0, '2024-01-01 01:00:00'],
          ['c_bytea', 0, '\\x0102ff'],
          ['c_uuid', 0, '6f1c5a4e-0000-4000-8000-000000000002'],
          ['c_text', 1, 'line1\nline2\r\n\ttab'],
          ['c_text', 2, 'Zoë 😀 中文'],
          ['c_text', 4, 'NULL'],
          ['c_text', 5, null],
          ['c_char', 1, 'A'], // bpchar::text drops the padding
          ['c_big', 0, '9007199254740993'],
          ['c_float', 1, '-1e-07'],
        ],
        mysql: [
          ['c_json', 0, '{"a":[1,"two"],"q\\"":"x\\ny"}'],
          ['c_dec', 0, '12.346'],
          ['c_dt', 0, '2024-01-02 03:04:05.678'],
          ['c_text', 0, `o'neil "q" \\ back`],
          ['c_text', 2, 'Zoë 😀 中文'],
          ['c_varchar', 1, 'trailing  '],
          ['c_bool', 0, '1'],
          ['c_big', 0, '9007199254740993'],
        ],
        sqlite: [
          ['c_text', 0, `o'neil "q" \\ back`],
          ['c_text', 3, ''],
          ['c_num', 1, '1.5'],
          ['c_json', 0, '{"a":[1,"two"]}'],
          ['c_bool', 0, '1'],
          ['c_big', 0, '9007199254740993'],
        ],
      }
      for (const [column, index, text] of expected[dialect]) expect(at(column, index), `${column} #${index}`).toBe(text)
    } finally {
      for (const name of db.created.splice(0)) await db.knex.schema.dropTableIfExists(name)
      for (const type of types) await db.knex.raw(`DROP ${type}`)
      await db.cleanup()
    }
  })
})
