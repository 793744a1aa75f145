import fc from 'fast-check'
import {afterAll, describe, expect, it} from 'vitest'

import type {WriteBuffer} from '../../../src/core/buffer/write-buffer.js'
import {dialectsUp, openTestDb, type DialectName, type TestDb} from '../../support/db.js'
import {cleanRedisPrefix, driversUp, engineConfig, openEngine, type DriverName} from '../../support/engine.js'
import {uniquePrefix} from '../../support/services.js'

/**
 * A differential test: generated schemas (key columns of many types, composite keys, collations)
 * and generated writes addressed through equivalent encodings of one row (`1` / `'1'`, `{id: 1}` /
 * `1`, `'bob'` / `'Bob'` under a case-insensitive collation, `'AT'` / `'AT '` in a char(n), a uuid
 * in upper and lower case), inserts with differing column sets, flushes in between — against a
 * plain model. Every increment counts once, the newest update wins, left-out columns get their
 * DEFAULT. Seeded: `WBC_DIFF_SEED` reproduces a run, `WBC_DIFF_RUNS` makes it longer
 * (docs/reliability.md).
 */

const RUNS = Number(process.env.WBC_DIFF_RUNS ?? 2)
const SEED = Number(process.env.WBC_DIFF_SEED ?? 20261201)
const OPS = Number(process.env.WBC_DIFF_OPS ?? 120)

/** A key column type: how to declare it, its row values, and the ways one value can be written. */
interface KeyType {
  name: string
  dialects: DialectName[]
  declare: (dialect: DialectName) => string
  /** Canonical values of the table's rows (as the model knows them). */
  values: string[]
  /** Equivalent encodings of one value that address the same row in this dialect. */
  spellings: (value: string, dialect: DialectName) => Array<string | number>
}

const KEY_TYPES: KeyType[] = [
  {
    name: 'int',
    dialects: ['sqlite', 'postgres', 'mysql'],
    declare: () => 'integer',
    values: ['1', '2', '3', '17'],
    spellings: (v) => [Number(v), v],
  },
  {
    name: 'bigint',
    dialects: ['sqlite', 'postgres', 'mysql'],
    declare: () => 'bigint',
    // Beyond 2^53: only the string spelling is exact.
    values: ['9007199254740993', '9007199254740995', '5'],
    spellings: (v) => (Number.isSafeInteger(Number(v)) ? [Number(v), v] : [v]),
  },
  {
    name: 'char',
    dialects: ['sqlite', 'postgres', 'mysql'],
    declare: () => 'char(3)',
    values: ['A', 'AT', 'AU', 'BQX'],
    // Trailing blanks are not significant in a char(n) comparison on PostgreSQL and MariaDB.
    spellings: (v, d) => (d === 'sqlite' || v.length === 3 ? [v] : [v, `${v} `]),
  },
  {
    name: 'ci_text',
    dialects: ['mysql'],
    declare: () => 'varchar(20) COLLATE utf8mb4_general_ci',
    values: ['bob', 'alice', 'eve'],
    spellings: (v) => [v, v.toUpperCase(), v[0].toUpperCase() + v.slice(1)],
  },
  {
    name: 'text',
    dialects: ['sqlite', 'postgres', 'mysql'],
    declare: (d) => (d === 'mysql' ? 'varchar(20) COLLATE utf8mb4_bin' : 'varchar(20)'),
    values: ["o'neil", 'x;y', 'Zoë', 'a b'],
    spellings: (v) => [v],
  },
  {
    name: 'uuid',
    dialects: ['postgres'],
    declare: () => 'uuid',
    values: ['0f8fad5b-d9cb-469f-a165-70867728950e', '7c9e6679-7425-40de-944b-e07fc1f90ae7'],
    spellings: (v) => [v, v.toUpperCase()],
  },
  {
    name: 'date',
    dialects: ['sqlite', 'postgres', 'mysql'],
    declare: () => 'date',
    values: ['2026-01-02', '2026-12-31'],
    spellings: (v) => [v],
  },
]

interface Rng {
  nextInt(min: number, max: number): number
  nextBoolean(): boolean
}

/** mulberry32: a small seeded generator for the schema choices. */
function seeded(seed: number): Rng {
  let state = seed >>> 0
  const next = () => {
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
  return {nextInt: (min, max) => min + Math.floor(next() * (max - min + 1)), nextBoolean: () => next() < 0.5}
}

interface Schema {
  table: string
  log: string
  /** Key columns: `id` alone (scalar addressing works) or two columns. */
  keys: Array<{column: string; type: KeyType}>
}

const quoteName = (dialect: DialectName, name: string) => (dialect === 'mysql' ? `\`${name}\`` : `"${name}"`)

async function createSchema(db: TestDb, rnd: Rng, stem: string, run: number): Promise<Schema> {
  const usable = KEY_TYPES.filter((t) => t.dialects.includes(db.dialect))
  const pick = () => usable[rnd.nextInt(0, usable.length - 1)]
  const composite = rnd.nextBoolean()
  const keys = composite
    ? [
        {column: 'k1', type: pick()},
        {column: 'k2', type: pick()},
      ]
    : [{column: 'id', type: pick()}]
  const table = `${stem}_t${run}`
  const log = `${stem}_log${run}`
  const q = (name: string) => quoteName(db.dialect, name)
  const amount = db.dialect === 'sqlite' ? 'numeric' : 'numeric(14,2)'
  const flag = db.dialect === 'mysql' ? 'tinyint(1)' : 'boolean'
  const charset = db.dialect === 'mysql' ? ' DEFAULT CHARSET=utf8mb4' : ''
  await db.knex.raw(`DROP TABLE IF EXISTS ${q(table)}`)
  await db.knex.raw(
    `CREATE TABLE ${q(table)} (${keys.map((k) => `${q(k.column)} ${k.type.declare(db.dialect)} NOT NULL`).join(', ')}, ` +
      `${q('hits')} integer NOT NULL DEFAULT 0, ${q('amount')} ${amount}, ${q('label')} varchar(40), ${q('flag')} ${flag}, ` +
      `PRIMARY KEY (${keys.map((k) => q(k.column)).join(', ')}))${charset}`,
  )
  db.created.push(table)
  await db.knex.raw(`DROP TABLE IF EXISTS ${q(log)}`)
  const auto = db.dialect === 'postgres' ? 'serial PRIMARY KEY' : db.dialect === 'mysql' ? 'integer AUTO_INCREMENT PRIMARY KEY' : 'integer PRIMARY KEY AUTOINCREMENT'
  await db.knex.raw(
    `CREATE TABLE ${q(log)} (${q('id')} ${auto}, ${q('seq')} integer NOT NULL, ${q('note')} varchar(40), ` +
      `${q('status')} varchar(10) NOT NULL DEFAULT 'new', ${q('score')} integer DEFAULT 7)${charset}`,
  )
  db.created.push(log)
  return {table, log, keys}
}

/** Every combination of the key columns' canonical values: the rows of the table. */
function rowsOf(schema: Schema): string[][] {
  return schema.keys.reduce<string[][]>((rows, key) => rows.flatMap((row) => key.type.values.map((v) => [...row, v])), [[]])
}

type Op =
  | {kind: 'increment'; row: number; spelling: number; column: 'hits' | 'amount'; delta: number}
  | {kind: 'update'; row: number; spelling: number; label?: string; flag?: boolean}
  | {kind: 'insert'; note?: string; status?: string; score?: number}
  | {kind: 'flush'}

const opArbitrary = (rows: number): fc.Arbitrary<Op> =>
  fc.oneof(
    {
      weight: 6,
      arbitrary: fc
        .record({
          kind: fc.constant('increment' as const),
          row: fc.nat({max: rows - 1}),
          spelling: fc.nat({max: 5}),
          column: fc.constantFrom('hits' as const, 'amount' as const),
          delta: fc.integer({min: -400, max: 400}),
        })
        .map((op) => (op.column === 'amount' ? {...op, delta: op.delta / 4} : op)),
    },
    {
      weight: 3,
      arbitrary: fc.record(
        {kind: fc.constant('update' as const), row: fc.nat({max: rows - 1}), spelling: fc.nat({max: 5}), label: fc.string({maxLength: 12}), flag: fc.boolean()},
        {requiredKeys: ['kind', 'row', 'spelling']},
      ),
    },
    {
      weight: 3,
      arbitrary: fc.record(
        {kind: fc.constant('insert' as const), note: fc.string({maxLength: 10}), status: fc.constantFrom('a', 'b', 'c'), score: fc.integer({min: -5, max: 5})},
        {requiredKeys: ['kind']},
      ),
    },
    {weight: 1, arbitrary: fc.constant({kind: 'flush' as const})},
  )

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

const combos = (['sqlite', 'postgres', 'mysql'] as const).flatMap((dialect) => (['memory', 'redis'] as const).map((driver) => ({dialect, driver})))

describe.each(combos)('differential: $driver driver, $dialect', ({dialect, driver}: {dialect: DialectName; driver: DriverName}) => {
  const up = dialectsUp[dialect] && driversUp[driver]
  const cleanups: Array<() => Promise<void>> = []
  afterAll(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => {})
  })

  it.skipIf(!up)('generated schemas and writes through equivalent encodings end exactly as the model says', async () => {
    const db = await openTestDb(dialect)
    cleanups.push(() => db.cleanup())
    const stem = uniquePrefix('wdf')
    const rnd = seeded(SEED)
    for (let run = 0; run < RUNS; run++) {
      const schema = await createSchema(db, rnd, stem, run)
      const rows = rowsOf(schema)
      const q = (name: string) => quoteName(dialect, name)
      for (const row of rows) {
        await db.knex(schema.table).insert(Object.fromEntries(schema.keys.map((k, i) => [k.column, row[i]])))
      }
      const config = engineConfig(driver, db.url)
      const prefix = (config.ipc as {prefix: string}).prefix
      const wb: WriteBuffer = await openEngine(config)
      cleanups.push(async () => {
        await wb.close().catch(() => {})
        if (driver === 'redis') await cleanRedisPrefix(prefix)
      })

      const ops = fc.sample(fc.array(opArbitrary(rows.length), {minLength: OPS, maxLength: OPS}), {seed: SEED + run, numRuns: 1})[0]
      const model = rows.map(() => ({hits: 0, amount: 0, label: null as string | null, flag: null as boolean | null}))
      const inserted: Array<{seq: number; note: string | null; status: string; score: number | null}> = []
      /** The spelling each row's fields were last updated through, and when (ms). */
      const lastUpdate = new Map<number, {spelling: string; at: number}>()

      const whereOf = (row: number, spelling: number): unknown => {
        const values = rows[row]
        if (schema.keys.length === 1) {
          const spellings = schema.keys[0].type.spellings(values[0], dialect)
          const value = spellings[spelling % spellings.length]
          // A single primary key can also be given as {id: value}.
          return spelling % 2 === 0 ? value : {id: value}
        }
        return Object.fromEntries(
          schema.keys.map((k, i) => {
            const spellings = k.type.spellings(values[i], dialect)
            return [k.column, spellings[(spelling + i) % spellings.length]]
          }),
        )
      }

      for (const op of ops) {
        if (op.kind === 'increment') {
          await wb
            .table(schema.table)
            .where(whereOf(op.row, op.spelling) as never)
            .increment(op.column, op.delta)
          model[op.row][op.column] += op.delta
        } else if (op.kind === 'update') {
          const fields: Record<string, unknown> = {}
          if (op.label !== undefined) fields.label = op.label
          if (op.flag !== undefined) fields.flag = op.flag
          if (Object.keys(fields).length === 0) continue
          const where = whereOf(op.row, op.spelling)
          const spelling = JSON.stringify(where)
          const last = lastUpdate.get(op.row)
          // Updates reaching one row through two spellings are ordered by their write time (ms):
          // the model needs them in different milliseconds to know which is newest.
          if (last && last.spelling !== spelling && Date.now() - last.at < 3) await sleep(3)
          await wb
            .table(schema.table)
            .where(where as never)
            .update(fields as never)
          lastUpdate.set(op.row, {spelling, at: Date.now()})
          Object.assign(model[op.row], fields)
        } else if (op.kind === 'insert') {
          const seq = inserted.length
          const row: Record<string, unknown> = {seq}
          if (op.note !== undefined) row.note = op.note
          if (op.status !== undefined) row.status = op.status
          if (op.score !== undefined) row.score = op.score
          await wb.table(schema.log).insert(row as never)
          inserted.push({seq, note: op.note ?? null, status: op.status ?? 'new', score: op.score === undefined ? 7 : op.score})
        } else {
          const report = await wb.flush()
          expect(report.status, JSON.stringify(report)).toBe('ok')
        }
      }
      const report = await wb.flush()
      expect(report.status, JSON.stringify(report)).toBe('ok')

      const keyList = schema.keys.map((k) => q(k.column)).join(', ')
      // Keys read back as text, so that bigints and dates compare exactly.
      const asText = (column: string) => (dialect === 'postgres' ? `${q(column)}::text` : dialect === 'mysql' ? `CAST(${q(column)} AS CHAR)` : `CAST(${q(column)} AS TEXT)`)
      const found = await db
        .knex(schema.table)
        .select(db.knex.raw(`${schema.keys.map((k) => `${asText(k.column)} AS ${q(`key_${k.column}`)}`).join(', ')}, ${['hits', 'amount', 'label', 'flag'].map(q).join(', ')}`))
        .orderByRaw(keyList)
      const canonical = (key: {column: string; type: KeyType}, row: Record<string, unknown>) => {
        const text = String(row[`key_${key.column}`])
        return key.type.name === 'char' ? text.trimEnd() : text
      }
      const actual = new Map(
        found.map((r) => [
          schema.keys.map((k) => canonical(k, r)).join('|'),
          {hits: Number(r.hits), amount: r.amount === null ? 0 : Number(r.amount), label: r.label ?? null, flag: r.flag === null ? null : Boolean(Number(r.flag))},
        ]),
      )
      expect(actual.size, 'no row was added or lost').toBe(rows.length)
      const expected = new Map(rows.map((row, i) => [row.join('|'), model[i]]))
      expect(Object.fromEntries(actual), `seed ${SEED + run}, schema ${schema.keys.map((k) => `${k.column}:${k.type.name}`).join(',')}`).toEqual(Object.fromEntries(expected))

      const logged = await db.knex(schema.log).select('seq', 'note', 'status', 'score').orderBy('seq')
      expect(logged.map((r) => ({seq: Number(r.seq), note: r.note ?? null, status: r.status, score: r.score === null ? null : Number(r.score)}))).toEqual(inserted)
    }
  })
})
