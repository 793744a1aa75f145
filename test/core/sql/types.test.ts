import {describe, expect, it} from 'vitest'

import type {Entry} from '../../../src/core/buffer/entries.js'
import type {Json} from '../../../src/core/ipc/types.js'
import {applyEntries} from '../../../src/core/sql/apply.js'
import {isTransient} from '../../../src/core/sql/errors.js'
import {dialectsUp, openTestDb, type DialectName, type TestDb} from '../../support/db.js'
import {uniquePrefix} from '../../support/services.js'

/**
 * Column types as keys (where) and as values (updated fields, counters): the write lands on the
 * row the key names, with the value the column would take from a plain UPDATE. Contents are read
 * back as text (`CAST(… AS text/CHAR)`) so they are compared exactly.
 */

type Scalar = string | number | boolean | null
interface KeyCase {
  /** Column type in the dialect's DDL. */
  type: string
  /** Key values of the seeded rows (in SQL literal form), in the column's own order. */
  seed: string[]
  /** The key as an entry carries it, and the seed index it must reach. */
  where: Scalar
  reaches: number
}

const apply = (db: TestDb, table: string, entries: Entry[]) => db.knex.transaction((trx) => applyEntries(trx, db.dialect, table, entries, 1000, db.knex))
const q = (db: TestDb, name: string) => (db.dialect === 'mysql' ? `\`${name}\`` : `"${name}"`)
function asText(db: TestDb, column: string): string {
  if (db.dialect === 'mysql') return `CAST(${q(db, column)} AS CHAR)`
  if (db.dialect === 'sqlite') return `CAST(${q(db, column)} AS TEXT)`
  // A timestamptz reads back in the session's time zone: read it in UTC.
  return column === 'c_ts' ? `to_char(${q(db, column)} AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS')` : `${q(db, column)}::text`
}

const KEYS: Record<DialectName, Record<string, KeyCase>> = {
  postgres: {
    'char(2)': {type: 'char(2)', seed: [`'A'`, `'AT'`, `'AU'`], where: 'AT', reaches: 1},
    'varchar(5)': {type: 'varchar(5)', seed: [`'ab'`, `'abc'`], where: 'abc', reaches: 1},
    'numeric(10,2)': {type: 'numeric(10,2)', seed: ['1.10', '1.20'], where: '1.2', reaches: 1},
    bigint: {type: 'bigint', seed: ['9007199254740992', '9007199254740993'], where: '9007199254740993', reaches: 1},
    uuid: {type: 'uuid', seed: [`'6f1c5a4e-0000-4000-8000-000000000001'`, `'6f1c5a4e-0000-4000-8000-000000000002'`], where: '6F1C5A4E-0000-4000-8000-000000000002', reaches: 1},
    date: {type: 'date', seed: [`'2024-01-01'`, `'2024-01-02'`], where: '2024-01-02', reaches: 1},
    timestamptz: {type: 'timestamptz', seed: [`'2024-01-01T00:00:00Z'`, `'2024-01-01T01:00:00Z'`], where: '2024-01-01T02:00:00+01:00', reaches: 1},
    boolean: {type: 'boolean', seed: ['false', 'true'], where: true, reaches: 1},
    enum: {type: '@mood', seed: [`'sad'`, `'ok'`], where: 'ok', reaches: 1},
    domain: {type: '@code', seed: [`'x1'`, `'x2'`], where: 'x2', reaches: 1},
  },
  mysql: {
    'char(2)': {type: 'char(2)', seed: [`'A'`, `'AT'`, `'AU'`], where: 'AT', reaches: 1},
    'varchar(5)': {type: 'varchar(5)', seed: [`'ab'`, `'abc'`], where: 'abc', reaches: 1},
    'decimal(10,2)': {type: 'decimal(10,2)', seed: ['1.10', '1.20'], where: '1.2', reaches: 1},
    bigint: {type: 'bigint', seed: ['9007199254740992', '9007199254740993'], where: '9007199254740993', reaches: 1},
    date: {type: 'date', seed: [`'2024-01-01'`, `'2024-01-02'`], where: '2024-01-02', reaches: 1},
    datetime: {type: 'datetime', seed: [`'2024-01-01 00:00:00'`, `'2024-01-01 01:00:00'`], where: '2024-01-01 01:00:00', reaches: 1},
    enum: {type: `enum('sad','ok','happy')`, seed: [`'sad'`, `'ok'`], where: 'ok', reaches: 1},
    boolean: {type: 'boolean', seed: ['0', '1'], where: true, reaches: 1},
  },
  sqlite: {
    integer: {type: 'integer', seed: ['1', '2'], where: '2', reaches: 1},
    text: {type: 'text', seed: [`'a'`, `'b'`], where: 'b', reaches: 1},
    real: {type: 'real', seed: ['1.5', '2.5'], where: 2.5, reaches: 1},
    numeric: {type: 'numeric', seed: ['10', '20'], where: '20', reaches: 1},
    boolean: {type: 'boolean', seed: ['0', '1'], where: true, reaches: 1},
  },
}

async function withDb(dialect: DialectName, work: (db: TestDb, name: (stem: string) => string, prefix: string) => Promise<void>): Promise<void> {
  const db = await openTestDb(dialect)
  const prefix = uniquePrefix()
  const types: string[] = []
  if (dialect === 'postgres') {
    await db.knex.raw(`CREATE TYPE "${prefix}_mood" AS ENUM ('sad', 'ok', 'happy')`)
    await db.knex.raw(`CREATE DOMAIN "${prefix}_code" AS varchar(8) CHECK (VALUE ~ '^x')`)
    types.push(`DOMAIN "${prefix}_code"`, `TYPE "${prefix}_mood"`)
  }
  const name = (stem: string) => {
    const table = `${prefix}_${stem}`
    db.created.push(table)
    return table
  }
  try {
    await work(db, name, prefix)
  } finally {
    for (const table of db.created.splice(0)) await db.knex.schema.dropTableIfExists(table)
    for (const type of types) await db.knex.raw(`DROP ${type}`)
    await db.cleanup()
  }
}

const ddlType = (type: string, prefix: string) => (type.startsWith('@') ? `"${prefix}_${type.slice(1)}"` : type)

describe.each(['sqlite', 'postgres', 'mysql'] as DialectName[])('column types on %s', (dialect) => {
  it.skipIf(!dialectsUp[dialect])('each type as a key column: counters and updates reach exactly the named row', async () => {
    await withDb(dialect, async (db, name, prefix) => {
      for (const [label, c] of Object.entries(KEYS[dialect])) {
        const table = name(`k${Object.keys(KEYS[dialect]).indexOf(label)}`)
        await db.knex.raw(`CREATE TABLE ${q(db, table)} (k ${ddlType(c.type, prefix)} PRIMARY KEY, hits integer NOT NULL DEFAULT 0, note varchar(20))`)
        await db.knex.raw(`INSERT INTO ${q(db, table)} (k) VALUES ${c.seed.map((v) => `(${v})`).join(', ')}`)
        const read = async () => rowsOf(db, await db.knex.raw(`SELECT ${asText(db, 'k')} AS kt, hits, note FROM ${q(db, table)} ORDER BY k`))
        const before = await read()
        const counts = await apply(db, table, [
          {kind: 'update', member: '', where: {k: c.where}, fields: {note: 'noted'}},
          {kind: 'counter', members: [], where: {k: c.where}, deltas: {hits: 10}},
        ])
        expect(counts, label).toEqual({updates: 1, counters: 1, inserts: 0})
        expect(
          (await read()).map((r) => [r.kt, Number(r.hits), r.note]),
          label,
        ).toEqual(before.map((r, i) => (i === c.reaches ? [r.kt, 10, 'noted'] : [r.kt, 0, null])))
      }
    })
  })

  it.skipIf(!dialectsUp[dialect])('each type as a value column and numeric counters: the row holds exactly what was written', async () => {
    await withDb(dialect, async (db, name, prefix) => {
      const table = name('values')
      const spec = VALUES[dialect]
      const columns = Object.entries(spec.columns).map(([column, [type]]) => `${column} ${ddlType(type, prefix)}`)
      const counters = Object.entries(spec.counters).map(([column, [type]]) => `${column} ${type} DEFAULT 0`)
      await db.knex.raw(`CREATE TABLE ${q(db, table)} (id integer PRIMARY KEY, ${[...columns, ...counters].join(', ')})`)
      await db.knex(table).insert([{id: 1}, {id: 2}])
      const fields = Object.fromEntries(Object.entries(spec.columns).map(([column, [, value]]) => [column, value]))
      const deltas = Object.fromEntries(Object.entries(spec.counters).map(([column, [, delta]]) => [column, delta]))
      await apply(db, table, [
        {kind: 'update', member: '', where: {id: 1}, fields},
        {kind: 'counter', members: [], where: {id: 1}, deltas},
        {kind: 'counter', members: [], where: {id: '1'}, deltas},
      ])
      const all = [...Object.keys(spec.columns), ...Object.keys(spec.counters)]
      const rows = rowsOf(db, await db.knex.raw(`SELECT ${all.map((c) => `${asText(db, c)} AS ${c}`).join(', ')} FROM ${q(db, table)} ORDER BY id`))
      const expected = Object.fromEntries([...Object.entries(spec.columns).map(([c, [, , text]]) => [c, text]), ...Object.entries(spec.counters).map(([c, [, , text]]) => [c, text])])
      expect(rows[0]).toEqual(expected)
      expect(Object.values(rows[1]).filter((v) => v !== null && Number(v) !== 0)).toEqual([])
    })
  })

  it.skipIf(!dialectsUp[dialect] || dialect === 'sqlite')('a value too long for its column fails the entry (a data error), it is never cut', async () => {
    await withDb(dialect, async (db, name) => {
      const table = name('short')
      await db.knex.raw(`CREATE TABLE ${q(db, table)} (id integer PRIMARY KEY, code char(2), label varchar(5))`)
      await db.knex(table).insert([{id: 1}])
      for (const fields of [{code: 'AUX'}, {label: 'toolong'}] as Array<Record<string, string>>) {
        const error = await apply(db, table, [{kind: 'update', member: '', where: {id: 1}, fields}]).catch((e: unknown) => e)
        expect(error, JSON.stringify(fields)).toBeInstanceOf(Error)
        expect(isTransient(error)).toBe(false)
      }
      expect(await db.knex(table).first('code', 'label')).toEqual({code: null, label: null})
    })
  })
})

/** Per column: [type, value written, its text read back]. Counters: [type, delta (applied twice), text]. */
const VALUES: Record<DialectName, {columns: Record<string, [string, Json, string]>; counters: Record<string, [string, number, string]>}> = {
  postgres: {
    columns: {
      c_char: ['char(4)', 'AU', 'AU'],
      c_varchar: ['varchar(5)', 'abcde', 'abcde'],
      c_num: ['numeric(10,2)', '12.345', '12.35'],
      c_big: ['bigint', '9007199254740993', '9007199254740993'],
      c_uuid: ['uuid', '6F1C5A4E-0000-4000-8000-000000000002', '6f1c5a4e-0000-4000-8000-000000000002'],
      c_date: ['date', '2024-02-29', '2024-02-29'],
      c_ts: ['timestamptz', '2024-01-01T02:00:00+01:00', '2024-01-01 01:00:00'],
      c_bool: ['boolean', true, 'true'],
      c_enum: ['@mood', 'happy', 'happy'],
      c_dom: ['@code', 'x9', 'x9'],
      c_arr: ['integer[]', [1, 2, 3], '{1,2,3}'],
      c_json: ['jsonb', {a: [1, 'two']}, '{"a": [1, "two"]}'],
    },
    counters: {
      n_int: ['integer', 3, '6'],
      n_big: ['bigint', 4000000000, '8000000000'],
      n_num: ['numeric(10,2)', 1.25, '2.50'],
      n_float: ['double precision', 0.5, '1'],
    },
  },
  mysql: {
    columns: {
      c_char: ['char(4)', 'AU', 'AU'],
      c_varchar: ['varchar(5)', 'abcde', 'abcde'],
      c_dec: ['decimal(10,2)', '12.34', '12.34'],
      c_big: ['bigint', '9007199254740993', '9007199254740993'],
      c_date: ['date', '2024-02-29', '2024-02-29'],
      c_dt: ['datetime', '2024-01-01 01:02:03', '2024-01-01 01:02:03'],
      c_enum: [`enum('sad','ok','happy')`, 'happy', 'happy'],
      c_bool: ['boolean', true, '1'],
    },
    counters: {
      n_int: ['int', 3, '6'],
      n_big: ['bigint', 4000000000, '8000000000'],
      n_dec: ['decimal(10,2)', 1.25, '2.50'],
      n_float: ['double', 0.5, '1'],
    },
  },
  sqlite: {
    columns: {
      c_int: ['integer', '42', '42'],
      c_text: ['text', 'héllo', 'héllo'],
      c_real: ['real', 2.5, '2.5'],
      c_num: ['numeric', '7', '7'],
      c_bool: ['boolean', true, '1'],
      c_json: ['text', {a: 1}, '{"a":1}'],
    },
    counters: {
      n_int: ['integer', 3, '6'],
      n_real: ['real', 0.25, '0.5'],
    },
  },
}

function rowsOf(db: TestDb, result: unknown): Array<Record<string, Scalar>> {
  if (db.dialect === 'postgres') return (result as {rows: Array<Record<string, Scalar>>}).rows
  if (db.dialect === 'mysql') return (result as [Array<Record<string, Scalar>>])[0]
  return result as Array<Record<string, Scalar>>
}
