import {mkdtempSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import fc from 'fast-check'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {MAX_ROW_BYTES} from '../../../src/core/buffer/validate.js'
import type {WriteBuffer} from '../../../src/core/buffer/write-buffer.js'
import {decodeWhere, encodeWhere} from '../../../src/core/buffer/keys.js'
import {IDENTIFIER} from '../../../src/core/config/identifiers.js'
import {loadConfig, parseConfig} from '../../../src/core/config/load.js'
import {ConfigError, InvalidArgument} from '../../../src/core/errors.js'
import {readStatus} from '../../../src/core/inspect/status.js'
import {createLogTable, createPostsTable, openTestDb, type TestDb} from '../../support/db.js'
import {engineConfig, openEngine} from '../../support/engine.js'

/**
 * Every input is either accepted and flushed exactly, or rejected with a typed error that leaves
 * the buffer as it was. Memory driver + SQLite (no server), one engine for all runs.
 */
describe('properties of the write buffer', () => {
  let db: TestDb
  let wb: WriteBuffer
  /** Its own prefix, never flushed: for inputs that name tables that do not exist. */
  let scratch: WriteBuffer
  const ROWS = 5

  beforeAll(async () => {
    db = await openTestDb('sqlite')
    await createPostsTable(db, 'posts', ROWS)
    await createLogTable(db, 'log')
    wb = await openEngine(engineConfig('memory', db.url))
    scratch = await openEngine(engineConfig('memory', db.url), {checkpoint: false})
  })
  afterAll(async () => {
    await scratch?.disconnect()
    await wb?.close()
    await db?.cleanup()
  })

  const pendingTables = async () => (await readStatus(wb.ipc, wb.prefix)).tables

  /** Runs a call that must either succeed or throw InvalidArgument; returns which. */
  async function acceptedOrInvalid(call: () => Promise<unknown>): Promise<boolean> {
    try {
      await call()
      return true
    } catch (error) {
      expect(error).toBeInstanceOf(InvalidArgument)
      expect((error as InvalidArgument).message.length).toBeGreaterThan(10)
      return false
    }
  }

  it('names: an identifier is accepted, anything else (SQL included) is rejected and buffers nothing', async () => {
    const names = fc.oneof(fc.string({maxLength: 70}), fc.constantFrom('posts; DROP TABLE users', 'posts"--', "po'sts", 'posts`', 'a b', 'x'.repeat(64), '_ok', '9lives', 'üser', ''))
    await fc.assert(
      fc.asyncProperty(names, names, async (table, column) => {
        const valid = IDENTIFIER.test(table) && IDENTIFIER.test(column)
        const before = await scratch.ipc.scard(`${scratch.prefix}:idx:updates`)
        const accepted = await acceptedOrInvalid(() =>
          scratch
            .table(table)
            .where(`r${before}`)
            .update({[column]: 1}),
        )
        expect(accepted).toBe(valid)
        expect(await scratch.ipc.scard(`${scratch.prefix}:idx:updates`)).toBe(before + (valid ? 1 : 0))
      }),
      {numRuns: 300},
    )
  })

  it('where: a value is accepted and decodes back to the same row, or is rejected', () => {
    const scalar = fc.oneof(fc.string({maxLength: 20}), fc.double(), fc.integer(), fc.boolean(), fc.constant(null))
    const where = fc.oneof(scalar, fc.dictionary(fc.string({maxLength: 8}), scalar, {maxKeys: 3}), fc.anything())
    fc.assert(
      fc.property(where, (value) => {
        let encoded: string
        try {
          encoded = encodeWhere(value, 'id')
        } catch (error) {
          expect(error).toBeInstanceOf(InvalidArgument)
          return
        }
        const decoded = decodeWhere(encoded, 'id')
        if (typeof value === 'object' && value !== null) expect(decoded).toEqual(value)
        else expect(decoded).toEqual({id: String(value)})
      }),
      {numRuns: 1000},
    )
  })

  it('rows: plain JSON objects with identifier columns are accepted, anything else is rejected', async () => {
    await fc.assert(
      fc.asyncProperty(fc.oneof(fc.anything(), fc.object(), fc.dictionary(fc.string({maxLength: 10}), fc.jsonValue(), {maxKeys: 4})), async (row) => {
        const before = await scratch.ipc.llen(`${scratch.prefix}:q:default:nosuchtable`)
        // One row per call (an array given to insert() is a list of rows).
        const accepted = await acceptedOrInvalid(() => scratch.table('nosuchtable').insert([row as Record<string, never>]))
        const plain = row !== null && typeof row === 'object' && !Array.isArray(row) && Object.getPrototypeOf(row) === Object.prototype
        if (accepted) expect(plain && Object.keys(row).length > 0 && Object.keys(row).every((c) => IDENTIFIER.test(c))).toBe(true)
        expect(await scratch.ipc.llen(`${scratch.prefix}:q:default:nosuchtable`)).toBe(before + (accepted ? 1 : 0))
      }),
      {numRuns: 300},
    )
  })

  it('a 10 MB row is rejected at insert time with the size and the limit; the queue is untouched', async () => {
    await wb.table('log').insert({user_id: 1, action: 'kept', seq: 1})
    const error = await wb
      .table('log')
      .insert({user_id: 2, action: 'x'.repeat(10 * 1024 * 1024), seq: 2})
      .catch((e: unknown) => e as InvalidArgument)
    expect(error).toBeInstanceOf(InvalidArgument)
    expect((error as InvalidArgument).message).toBe(`row: is ${10 * 1024 * 1024 + 33} bytes as JSON; the limit is ${MAX_ROW_BYTES}`)
    expect(await wb.ipc.llen(`${wb.prefix}:q:default:log`)).toBe(1)
    await wb.flush()
    expect((await db.knex('log').select('action')).map((r) => r.action)).toEqual(['kept'])
    await db.knex('log').del()
  })

  it('deltas: finite numbers are accepted (unless they would take the counter past the largest double), NaN, Infinity and non-numbers are rejected', async () => {
    await fc.assert(
      fc.asyncProperty(fc.oneof(fc.double(), fc.anything()), async (delta) => {
        const live = Number((await scratch.ipc.get(`${scratch.prefix}:c:default:posts:1:views`)) ?? 0)
        const accepted = await acceptedOrInvalid(() =>
          scratch
            .table('posts')
            .where(1)
            .increment('views', delta as number),
        )
        // Leaving the delta out means 1.
        expect(accepted).toBe(delta === undefined || (typeof delta === 'number' && Number.isFinite(delta) && Number.isFinite(live + delta)))
      }),
      {numRuns: 300},
    )
  })

  type Op = {kind: 'increment'; id: number; delta: number} | {kind: 'update'; id: number; title: string} | {kind: 'insert'; action: string} | {kind: 'bad'; delta: unknown} | {kind: 'flush'}

  const op: fc.Arbitrary<Op> = fc.oneof(
    {weight: 5, arbitrary: fc.record({kind: fc.constant('increment' as const), id: fc.integer({min: 1, max: ROWS}), delta: fc.integer({min: -1000, max: 1000})})},
    {weight: 2, arbitrary: fc.record({kind: fc.constant('update' as const), id: fc.integer({min: 1, max: ROWS}), title: fc.string({unit: 'grapheme', maxLength: 30})})},
    {weight: 2, arbitrary: fc.record({kind: fc.constant('insert' as const), action: fc.string({unit: 'grapheme', maxLength: 10})})},
    {weight: 1, arbitrary: fc.record({kind: fc.constant('bad' as const), delta: fc.constantFrom(Number.NaN, Infinity, '1', null, {})})},
    {weight: 1, arbitrary: fc.constant({kind: 'flush' as const})},
  )

  it('any sequence of writes, invalid ones and flushes ends in the database exactly as a model says', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(op, {maxLength: 60}), async (ops) => {
        await db.knex('posts').update({views: 0, title: null})
        await db.knex('log').del()
        const views = new Map<number, number>()
        const titles = new Map<number, string>()
        const actions: string[] = []
        for (const o of ops) {
          if (o.kind === 'increment') {
            await wb.table('posts').where(o.id).increment('views', o.delta)
            views.set(o.id, (views.get(o.id) ?? 0) + o.delta)
          } else if (o.kind === 'update') {
            await wb.table('posts').where(o.id).update({title: o.title})
            titles.set(o.id, o.title)
          } else if (o.kind === 'insert') {
            await wb.table('log').insert({user_id: actions.length, action: o.action, seq: actions.length})
            actions.push(o.action)
          } else if (o.kind === 'bad') {
            expect(
              await acceptedOrInvalid(() =>
                wb
                  .table('posts')
                  .where(1)
                  .increment('views', o.delta as number),
              ),
            ).toBe(false)
          } else {
            expect((await wb.flush()).status).toBe('ok')
          }
        }
        expect((await wb.flush()).status).toBe('ok')
        const rows = await db.knex('posts').select('id', 'views', 'title').orderBy('id')
        expect(rows.map((r) => [Number(r.id), Number(r.views), r.title])).toEqual(Array.from({length: ROWS}, (_, i) => [i + 1, views.get(i + 1) ?? 0, titles.get(i + 1) ?? null]))
        expect((await db.knex('log').select('action').orderBy('seq')).map((r) => r.action)).toEqual(actions)
        expect(await pendingTables()).toEqual([])
      }),
      {numRuns: 40},
    )
  })

  it('config files: any file content loads or fails with a ConfigError naming the file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'wbc-prop-config-'))
    const file = join(dir, 'wbc.config.json')
    const content = fc.oneof(
      fc.string({maxLength: 200}),
      fc.json(),
      fc.jsonValue().map((v) => JSON.stringify({ipc: v})),
      fc.jsonValue().map((v) => JSON.stringify({connections: {default: v}})),
      fc.constantFrom('', '{', '{"ipc": {"driver": "redis"}}', '{"buffer": {"flushInterval": -1}}', '\u0000', '[]', 'null'),
    )
    fc.assert(
      fc.property(content, (text) => {
        writeFileSync(file, text)
        try {
          loadConfig({cwd: dir, env: {}})
        } catch (error) {
          expect(error).toBeInstanceOf(ConfigError)
          expect((error as ConfigError).message).toContain('wbc.config.json')
        }
      }),
      {numRuns: 500},
    )
  })

  it('config: any input parses or fails with a ConfigError naming the problem', () => {
    const config = fc.oneof(
      fc.anything(),
      fc.record(
        {
          ipc: fc.oneof(
            fc.anything(),
            fc.record(
              {driver: fc.oneof(fc.constantFrom('memory', 'redis'), fc.string()), prefix: fc.oneof(fc.string(), fc.integer()), redis: fc.oneof(fc.string(), fc.anything())},
              {requiredKeys: []},
            ),
          ),
          connections: fc.oneof(fc.anything(), fc.dictionary(fc.string(), fc.oneof(fc.string(), fc.anything()))),
          buffer: fc.oneof(fc.anything(), fc.record({flushInterval: fc.oneof(fc.integer(), fc.double(), fc.string()), maxQueueSize: fc.anything()}, {requiredKeys: []})),
        },
        {requiredKeys: []},
      ),
    )
    fc.assert(
      fc.property(config, (input) => {
        try {
          parseConfig(input)
        } catch (error) {
          expect(error).toBeInstanceOf(ConfigError)
          expect((error as ConfigError).message).toMatch(/\S+: .+/)
        }
      }),
      {numRuns: 1000},
    )
  })
})
