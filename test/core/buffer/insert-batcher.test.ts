import {afterAll, afterEach, beforeAll, describe, expect, it} from 'vitest'

import {MAX_BATCH_ROWS} from '../../../src/core/buffer/insert-batcher.js'
import type {WriteBuffer} from '../../../src/core/buffer/write-buffer.js'
import type {Json} from '../../../src/core/ipc/types.js'
import {createLogTable, dialectsUp, openTestDb, type DialectName, type TestDb} from '../../support/db.js'
import {cleanRedisPrefix, driversUp, engineConfig, openEngine, type DriverName} from '../../support/engine.js'
import {uniquePrefix} from '../../support/services.js'

const combos: Array<[DriverName, DialectName]> = [
  ['memory', 'sqlite'],
  ['redis', 'sqlite'],
  ['redis', 'postgres'],
]

describe.each(combos)('insert() from concurrent callers, %s + %s', (driver, dialect) => {
  const up = driversUp[driver] && dialectsUp[dialect]
  const prefix = uniquePrefix()
  let db: TestDb
  let wb: WriteBuffer
  let calls: Array<{table: string; rows: Json[]}>
  let original: WriteBuffer['steps']['insert']

  beforeAll(async () => {
    if (!up) return
    db = await openTestDb(dialect)
    wb = await openEngine(engineConfig(driver, db.url, prefix))
    original = wb.steps.insert
    // Every step call is recorded with the rows it carried.
    wb.steps.insert = (p, table, rows) => {
      calls.push({table, rows: [...rows]})
      return original(p, table, rows)
    }
  })
  afterEach(() => {
    calls = []
  })
  afterAll(async () => {
    if (!up) return
    wb.steps.insert = original
    await wb?.close()
    await db?.cleanup()
    if (driver === 'redis') await cleanRedisPrefix(prefix)
  })

  const row = (seq: number) => ({user_id: 1, action: 'view', seq})

  it.skipIf(!up)('inserts of one turn go in one step call, in call order; each caller gets the queue length after its rows', async () => {
    calls = []
    const log = `${prefix}_one`
    await createLogTable(db, log)
    const t = wb.table(log)
    // 50 callers, some with several rows: 1 + 3 + 1 + 3 … rows, seq numbered in call order.
    let seq = 0
    const promises: Array<Promise<number>> = []
    const expected: number[] = []
    for (let caller = 0; caller < 50; caller++) {
      const rows = Array.from({length: caller % 2 === 0 ? 1 : 3}, () => row(++seq))
      promises.push(t.insert(caller % 2 === 0 ? rows[0] : rows))
      expected.push(seq)
    }
    const lengths = await Promise.all(promises)
    expect(calls).toHaveLength(1)
    expect(calls[0].rows.map((r) => (r as {seq: number}).seq)).toEqual(Array.from({length: seq}, (_, i) => i + 1))
    expect(lengths).toEqual(expected)
    // A later turn's call sees the queue as it is: the rows of the earlier one plus its own.
    expect(await t.insert(row(++seq))).toBe(seq)

    const report = await wb.flush({table: log})
    expect(report.status).toBe('ok')
    const stored = await db.knex(log).orderBy('id').select('seq')
    expect(stored.map((r: {seq: number}) => Number(r.seq))).toEqual(Array.from({length: seq}, (_, i) => i + 1))
  })

  it.skipIf(!up)('a turn of more than MAX_BATCH_ROWS rows is split between callers, never inside one', async () => {
    calls = []
    const log = `${prefix}_split`
    await createLogTable(db, log)
    const t = wb.table(log)
    const promises: Array<Promise<number>> = []
    for (let i = 1; i <= MAX_BATCH_ROWS + 10; i++) promises.push(t.insert(row(i)))
    // One caller whose rows alone exceed the bound: they go together, in a call of their own.
    const big = Array.from({length: MAX_BATCH_ROWS + 5}, (_, j) => row(MAX_BATCH_ROWS + 11 + j))
    promises.push(t.insert(big))
    const lengths = await Promise.all(promises)
    expect(calls.map((c) => c.rows.length)).toEqual([MAX_BATCH_ROWS, 10, MAX_BATCH_ROWS + 5])
    expect(lengths.at(-1)).toBe(2 * MAX_BATCH_ROWS + 15)
    expect(lengths.slice(0, -1)).toEqual(Array.from({length: MAX_BATCH_ROWS + 10}, (_, i) => i + 1))
    const report = await wb.flush({table: log})
    expect(report.status).toBe('ok')
    const stored = await db.knex(log).orderBy('id').select('seq')
    expect(stored.map((r: {seq: number}) => Number(r.seq))).toEqual(Array.from({length: 2 * MAX_BATCH_ROWS + 15}, (_, i) => i + 1))
  })

  it.skipIf(!up)('rows are taken as they were when insert() was called', async () => {
    calls = []
    const log = `${prefix}_snap`
    await createLogTable(db, log)
    const reused = row(1)
    const first = wb.table(log).insert(reused)
    reused.seq = 2
    const second = wb.table(log).insert(reused)
    await Promise.all([first, second])
    expect(calls[0].rows).toEqual([row(1), row(2)])
  })

  it.skipIf(!up)('a step that fails rejects every caller of its call and queues nothing', async () => {
    calls = []
    const log = `${prefix}_bad`
    const queueKey = `${prefix}:q:default:${log}`
    // A queue key of the wrong type: the step checks it before its first write.
    await wb.ipc.set(queueKey, 'not a list')
    const results = await Promise.allSettled([1, 2, 3].map((i) => wb.table(log).insert(row(i))))
    expect(calls).toHaveLength(1)
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected', 'rejected'])
    const reasons = new Set(results.map((r) => (r as PromiseRejectedResult).reason))
    expect(reasons.size).toBe(1)
    expect(await wb.ipc.get(queueKey)).toBe('not a list')
    expect(await wb.ipc.smembers(`${prefix}:idx:queues`)).not.toContain(`default:${log}`)
    await wb.ipc.del(queueKey)
  })

  it.skipIf(!up)('an invalid row rejects its own call at once; the other callers of the turn are queued', async () => {
    calls = []
    const log = `${prefix}_mixed`
    await createLogTable(db, log)
    const results = await Promise.allSettled([wb.table(log).insert(row(1)), wb.table(log).insert({'bad column': 1} as never), wb.table(log).insert(row(2))])
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled'])
    expect(calls).toHaveLength(1)
    expect(calls[0].rows).toEqual([row(1), row(2)])
    expect((results[2] as PromiseFulfilledResult<number>).value).toBe(2)
  })
})

describe.each(['memory', 'redis'] as DriverName[])('a queue reaching maxQueueSize through batched inserts, %s + sqlite', (driver) => {
  const up = driversUp[driver] && dialectsUp.sqlite

  it.skipIf(!up)('flushes its table, as one insert per call did', async () => {
    const prefix = uniquePrefix()
    const db = await openTestDb('sqlite')
    const config = engineConfig(driver, db.url, prefix)
    config.buffer = {...config.buffer, maxQueueSize: 10}
    // Timers on (a full queue is flushed by the engine's own timer-driven flusher), the interval far away.
    const wb = await openEngine(config, {timers: true})
    try {
      const log = `${prefix}_full`
      await createLogTable(db, log)
      const lengths = await Promise.all(Array.from({length: 12}, (_, i) => wb.table(log).insert({user_id: 1, action: 'view', seq: i + 1})))
      expect(Math.max(...lengths)).toBe(12)
      const deadline = Date.now() + 15_000
      let stored = 0
      while (Date.now() < deadline) {
        stored = Number((await db.knex(log).count({n: '*'}))[0].n)
        if (stored === 12) break
        await new Promise((resolve) => setTimeout(resolve, 50))
      }
      expect(stored).toBe(12)
    } finally {
      await wb.close()
      await db.cleanup()
      if (driver === 'redis') await cleanRedisPrefix(prefix)
    }
  })
})
