import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import type {WriteBuffer} from '../../../src/core/buffer/write-buffer.js'
import {createLogTable, createPostsTable, dialectsUp, openTestDb, type DialectName, type TestDb} from '../../support/db.js'
import {cleanRedisPrefix, driversUp, engineConfig, openEngine, type DriverName} from '../../support/engine.js'
import {uniquePrefix} from '../../support/services.js'

const combos: Array<[DriverName, DialectName]> = []
for (const driver of ['memory', 'redis'] as const) for (const dialect of ['sqlite', 'postgres', 'mysql'] as const) combos.push([driver, dialect])

describe.each(combos)('engine on %s + %s', (driver, dialect) => {
  const up = driversUp[driver] && dialectsUp[dialect]
  const prefix = uniquePrefix()
  const posts = `${prefix}_posts`
  const log = `${prefix}_log`
  let db: TestDb
  let wb: WriteBuffer

  beforeAll(async () => {
    if (!up) return
    db = await openTestDb(dialect)
    await createPostsTable(db, posts, 1000)
    await createLogTable(db, log)
    wb = await openEngine(engineConfig(driver, db.url, prefix))
  })
  afterAll(async () => {
    if (!up) return
    await wb?.close()
    await db?.cleanup()
    if (driver === 'redis') await cleanRedisPrefix(prefix)
  })

  it.skipIf(!up)('100,000 increments over 1,000 rows from 4 concurrent writers, flushed while writing, land exactly', async () => {
    const expected = new Map<number, number>()
    const writer = async (w: number) => {
      for (let i = 0; i < 25_000; i += 250) {
        const calls = []
        for (let j = i; j < i + 250; j++) {
          const id = ((j * 7919 + w * 104729) % 1000) + 1
          expected.set(id, (expected.get(id) ?? 0) + 1)
          calls.push(wb.table(posts).where(id).increment('views'))
        }
        await Promise.all(calls)
        await new Promise((resolve) => setTimeout(resolve, 2))
      }
    }
    let writing = true
    const flushing = (async () => {
      let flushes = 0
      while (writing) {
        const report = await wb.flush()
        expect(report.status).toBe('ok')
        flushes++
        await new Promise((resolve) => setTimeout(resolve, 20))
      }
      return flushes
    })()
    await Promise.all([0, 1, 2, 3].map(writer))
    writing = false
    expect(await flushing).toBeGreaterThan(1)
    const last = await wb.flush()
    expect(last.status).toBe('ok')
    const rows = await db.knex(posts).select('id', 'views').orderBy('id')
    expect(rows).toHaveLength(1000)
    const wrong = rows.filter((row) => Number(row.views) !== (expected.get(Number(row.id)) ?? 0))
    expect(wrong).toEqual([])
    expect(rows.reduce((sum, row) => sum + Number(row.views), 0)).toBe(100_000)
    expect((await wb.flush()).tables).toEqual([])
  })

  it.skipIf(!up)('get() and increment() count DB base + in-flight + pending exactly once', async () => {
    await db.knex(posts).where({id: 500}).update({likes: 40})
    expect(await wb.table(posts).where(500).get('likes')).toBe(40)
    expect(await wb.table(posts).where(500).increment('likes', 2)).toBe(42)
    // Claim without applying: the delta is in flight, not yet in the database.
    const batch = await wb.steps.claim(wb.prefix, {
      batchId: `0000-inflight-${prefix}`,
      table: `default:${posts}`,
      createdAt: Date.now(),
      counters: [`default:${posts}:500:likes`],
      updates: [],
      maxInserts: 0,
    })
    expect(batch.quarantined).toEqual([])
    expect(batch.batch?.counters).toEqual([[`default:${posts}:500:likes`, 2]])
    expect(await wb.table(posts).where(500).increment('likes', 3)).toBe(45)
    expect(await wb.table(posts).where({id: 500}).get('likes')).toBe(45)
    // A fresh reader without a cached base reads the DB and adds the in-flight delta once.
    await wb.ipc.del(`${wb.prefix}:b:default:${posts}:500:likes`)
    expect(await wb.table(posts).where(500).get('likes')).toBe(45)
    const report = await wb.flush({table: posts})
    expect(report.tables).toEqual([expect.objectContaining({table: posts, counters: 2, recovered: 1, batches: 2})])
    expect(await wb.table(posts).where(500).get('likes')).toBe(45)
    expect((await db.knex(posts).where({id: 500}).first('likes')).likes).toBe(45)
    // And with the base cache gone after the flush, the DB alone is right.
    await wb.ipc.del(`${wb.prefix}:b:default:${posts}:500:likes`)
    expect(await wb.table(posts).where(500).get('likes')).toBe(45)
  })

  it.skipIf(!up)('updates: last write wins per column; 42 and {id: 42} are one row; updates apply before increments', async () => {
    await wb.table(posts).where(42).update({title: 'first', last_ip: '1.1.1.1'})
    await wb.table(posts).where({id: 42}).update({title: 'second'})
    await wb.table(posts).where(43).update({title: 'x', likes: 100})
    await wb.table(posts).where(43).increment('likes', 5)
    const report = await wb.flush({table: posts})
    expect(report.status).toBe('ok')
    expect(report.tables[0]).toMatchObject({updates: 2, counters: 1, deadLettered: 0})
    expect(await db.knex(posts).whereIn('id', [42, 43]).orderBy('id').select('id', 'title', 'last_ip', 'likes')).toEqual([
      {id: 42, title: 'second', last_ip: '1.1.1.1', likes: 0},
      {id: 43, title: 'x', last_ip: null, likes: 105},
    ])
  })

  it.skipIf(!up)('a poison row among 1,000 queued inserts: 999 inserted, 1 dead-lettered with its error', async () => {
    const rows = Array.from({length: 1000}, (_, i) => ({user_id: i === 617 ? null : i, action: 'view', seq: i}))
    await wb.table(log).insert(rows as never)
    const report = await wb.flush({table: log})
    expect(report.status).toBe('partial')
    expect(report.tables).toEqual([expect.objectContaining({table: log, inserts: 999, deadLettered: 1})])
    expect(Number((await db.knex(log).count({n: '*'}))[0].n)).toBe(999)
    expect((await db.knex(log).select('seq').orderBy('seq')).map((r) => r.seq)).toEqual(rows.map((r) => r.seq).filter((s) => s !== 617))
    const letters = await wb.deadLetters.list('default', log)
    expect(letters).toHaveLength(1)
    expect(letters[0]).toMatchObject({kind: 'insert', entry: {row: {user_id: null, action: 'view', seq: 617}}})
    expect(letters[0].error).toMatch(/null|NULL/)
    // Fixed by hand and retried: it lands once.
    await db.knex.schema.alterTable(log, (t) => t.integer('user_id').nullable().alter())
    // Two retries racing (two operators): the entry is re-buffered once.
    const raced = await Promise.all([wb.deadLetters.retry('default', log, [letters[0].id]), wb.deadLetters.retry('default', log, [letters[0].id])])
    expect(raced[0].retried.length + raced[1].retried.length).toBe(1)
    expect((await wb.flush({table: log})).tables[0]).toMatchObject({inserts: 1, deadLettered: 0})
    expect(Number((await db.knex(log).count({n: '*'}))[0].n)).toBe(1000)
    expect(await wb.deadLetters.list('default', log)).toEqual([])
  })

  it.skipIf(!up)('an increment or update of a row that does not exist is dead-lettered; the rest commits', async () => {
    await wb.table(posts).where(5000).increment('views', 3)
    await wb.table(posts).where(7).increment('views', 3)
    await wb.table(posts).where(5001).update({title: 'ghost'})
    const before = Number((await db.knex(posts).where({id: 7}).first('views')).views)
    const report = await wb.flush({table: posts})
    expect(report.tables[0]).toMatchObject({counters: 1, updates: 0, deadLettered: 2})
    expect(Number((await db.knex(posts).where({id: 7}).first('views')).views)).toBe(before + 3)
    const letters = await wb.deadLetters.list('default', posts)
    expect(letters.map((l) => [l.kind, l.entry])).toEqual(
      expect.arrayContaining([
        ['counter', {where: {id: '5000'}, deltas: {views: 3}}],
        ['update', {where: {id: '5001'}, fields: {title: 'ghost'}}],
      ]),
    )
    expect(letters.every((l) => l.error === 'no row matches this key (an UPDATE would change nothing)')).toBe(true)
    expect(await wb.deadLetters.drop('default', posts, [])).toBe(2)
  })

  it.skipIf(!up)('refuses bad input with typed errors and buffers nothing for it', async () => {
    const invalid = {name: 'InvalidArgument', code: 'INVALID_ARGUMENT'}
    expect(() => wb.table('posts; DROP TABLE users')).toThrow(expect.objectContaining({...invalid, argument: 'table'}))
    expect(() => wb.table(posts).where({id: {nested: 1}} as never)).toThrow(expect.objectContaining(invalid))
    expect(() => wb.table(posts).where([1] as never)).toThrow(expect.objectContaining(invalid))
    expect(() => wb.table(posts).where(NaN)).toThrow(expect.objectContaining(invalid))
    // Writes are promises: bad input rejects them (nothing is stored).
    await expect(wb.table(posts).where(1).increment('views', NaN)).rejects.toMatchObject({...invalid, argument: 'delta'})
    await expect(wb.table(posts).where(1).increment('views"; --')).rejects.toMatchObject({...invalid, argument: 'column'})
    await expect(
      wb
        .table(posts)
        .where(1)
        .update({title: () => 1} as never),
    ).rejects.toMatchObject(invalid)
    await expect(wb.table(posts).where(1).update({'bad col': 1})).rejects.toMatchObject(invalid)
    await expect(wb.table(log).insert({user_id: 1, when: new Date()} as never)).rejects.toMatchObject(invalid)
    await expect(wb.table(log).insert({user_id: 1, blob: 'x'.repeat(2 * 1024 * 1024)})).rejects.toMatchObject(invalid)
    expect(() => wb.connection('no such').table(posts)).toThrow(expect.objectContaining({...invalid, argument: 'connection'}))
    expect((await wb.flush()).tables).toEqual([])
  })
})
