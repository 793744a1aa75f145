import {Redis} from 'ioredis'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import type {WriteBuffer} from '../../../../src/core/buffer/write-buffer.js'
import type {WbcConfigInput} from '../../../../src/core/config/schema.js'
import {parseConfig} from '../../../../src/core/config/load.js'
import {planFlush} from '../../../../src/core/inspect/plan.js'
import {readStatus} from '../../../../src/core/inspect/status.js'
import {createLogTable, dialectsUp, type DialectName, type TestDb} from '../../../support/db.js'
import {driversUp, redisEngineFor} from '../../../support/engine.js'
import {uniquePrefix, urls} from '../../../support/services.js'
import {sleep, startFixture} from '../../../support/spawn.js'

/**
 * The claim takes queued rows unchecked; the flusher sets the bad ones aside (setAsideRows) before
 * the batch is applied. A flusher killed on either side of that step leaves a batch the next flush
 * finishes: every good row inserted once, in queue order, every bad row kept once in the table's
 * bad rows, as the text it was queued as.
 */
describe.each(['postgres', 'mysql', 'sqlite'] as DialectName[])('bad queued rows on redis + %s', (dialect) => {
  const up = driversUp.redis && dialectsUp[dialect]
  const prefix = uniquePrefix()
  let db: TestDb
  let config: WbcConfigInput
  let wb: WriteBuffer
  let raw: Redis
  let round = 0

  redisEngineFor(dialect, up, prefix, (opened) => ({db, config, wb} = opened))
  beforeAll(() => {
    raw = new Redis(urls.redis)
  })
  afterAll(() => raw?.disconnect())

  // JSON.parse refuses the first five (cjson reads the last two of them); the others parse but are
  // no row of columns.
  const BAD = [
    '{"user_id":1,"action":"x","seq":01}',
    '{"user_id":1,"action":"x","seq":NaN}',
    '{"user_id":1,"action":"x\ty","seq":5}',
    '{"user_id":1,"action":"x","seq":-.5}',
    '{"user_id":1,"action":"x","seq":5}\u0000',
    '[1,2]',
    '"text"',
    '{}',
    '{"user_id":1,"action":"x","seq":5,"seq\\") VALUES (1); --":1}',
  ]
  const REASON = '7 queued row(s) not a JSON object; 2 queued row(s) without columns or with a name that is not a column name'

  /** A fresh log table whose queue holds `good` rows, the bad ones, then `good` more (seq 0, 1, …). */
  async function queued(good: number): Promise<string> {
    const log = `${prefix}_l${++round}`
    await createLogTable(db, log)
    // A lone surrogate reads in JSON.parse (not in cjson): the row is good and is inserted.
    await wb.table(log).insert(Array.from({length: good}, (_, i) => ({user_id: i, action: i === 1 ? 'lone \ud800 surrogate' : 'a', seq: i})))
    await raw.rpush(`${prefix}:q:default:${log}`, ...BAD)
    await raw.sadd(`${prefix}:idx:queues`, `default:${log}`)
    await wb.table(log).insert(Array.from({length: good}, (_, i) => ({user_id: i, action: 'a', seq: good + i})))
    return log
  }

  async function assertFinished(log: string, good: number): Promise<void> {
    const rows = await db.knex(log).select('seq').orderBy('id')
    expect(rows.map((r) => Number(r.seq))).toEqual(Array.from({length: 2 * good}, (_, i) => i))
    expect(await raw.lrange(`${prefix}:bad:q:default:${log}`, 0, -1)).toEqual(BAD)
    expect(JSON.parse((await raw.hget(`${prefix}:idx:bad`, `q:default:${log}`))!).reason).toBe(REASON)
    expect(await raw.scard(`${prefix}:idx:inflight`)).toBe(0)
    expect(await raw.llen(`${prefix}:q:default:${log}`)).toBe(0)
  }

  it.skipIf(!up)('a flush sets the bad rows aside, in order, and inserts every good row once', async () => {
    const log = await queued(50)
    const report = await wb.flush()
    expect(report.quarantined).toEqual([{key: `q:default:${log}`, reason: REASON}])
    expect(report.status).toBe('partial')
    await assertFinished(log, 50)
    expect((await wb.flush()).quarantined).toEqual([])
    await assertFinished(log, 50)
  })

  it.skipIf(!up)('a dry run plans a queue holding bad rows as the flush applies it: the good rows', async () => {
    const log = await queued(30)
    const plan = await planFlush(wb.ipc, parseConfig(config), {table: log})
    const planned = plan.tables.find((t) => t.table === log)!
    expect(planned.statements.map((statement) => statement.kind)).toContain('insert')
    expect(planned.inserts.rows).toBe(60 + BAD.length)
    await wb.flush()
    await assertFinished(log, 30)
  })

  const flushInChild = (failpoint: string) => startFixture('flush-once.ts', {WBC_TEST_CONFIG: JSON.stringify(config), WBC_FAILPOINT: failpoint, LEASE_TTL_MS: '1000'})

  for (const [failpoint, good] of [
    ['before-set-aside-rows', 40],
    ['after-set-aside-rows', 40],
    ['after-set-aside-rows', 0],
  ] as const) {
    it.skipIf(!up)(`a flusher killed ${failpoint.replaceAll('-', ' ')} (${good ? 'good and bad rows' : 'bad rows only'}) leaves a batch the next flush finishes`, async () => {
      const log = await queued(good)
      const result = await flushInChild(failpoint).exit
      expect(result.signal).toBe('SIGKILL')
      expect(await raw.scard(`${prefix}:idx:inflight`)).toBe(1)
      expect(await raw.lrange(`${prefix}:bad:q:default:${log}`, 0, -1)).toEqual(failpoint === 'before-set-aside-rows' ? [] : BAD)
      // status shows the batch as the table's, not as a bad key (the next flush sets its bad rows aside).
      const status = await readStatus(wb.ipc, prefix)
      expect(status.tables.find((t) => t.table === log)?.inflight.batches).toBe(1)
      expect(status.badKeys.filter((bad) => bad.key.includes(':if:'))).toEqual([])
      if (good > 0) {
        // plan shows what the flush will apply: the good rows' INSERT (not a batch it cannot read).
        const plan = await planFlush(wb.ipc, parseConfig(config), {table: log})
        expect(plan.tables.find((t) => t.table === log)?.statements.map((statement) => statement.kind)).toContain('insert')
      }
      await sleep(1100) // The dead holder's lease runs out.
      const report = await wb.flush()
      expect(report.quarantined).toEqual(failpoint === 'before-set-aside-rows' ? [{key: `q:default:${log}`, reason: REASON}] : [])
      // Partial when this flush set rows aside (as any quarantine makes it).
      expect(report.status).toBe(failpoint === 'before-set-aside-rows' ? 'partial' : 'ok')
      await assertFinished(log, good)
    })
  }

  it.skipIf(!up)('bad rows whose list is a key of another type: the batch is kept aside whole with its good rows, and the reason says why', async () => {
    const log = await queued(5)
    await raw.set(`${prefix}:bad:q:default:${log}`, 'taken')
    const report = await wb.flush()
    expect(report.quarantined).toHaveLength(1)
    const [{key, reason}] = report.quarantined
    expect(key).toMatch(/^if:/)
    expect(reason).toBe(`its bad queued rows cannot be set aside: key "${prefix}:bad:q:default:${log}" holds a string, not a list`)
    // Nothing lost: every queued row, good and bad, is in the batch kept aside; nothing is stuck.
    const kept = JSON.parse((await raw.get(`${prefix}:bad:${key}`))!)
    expect(kept.inserts).toHaveLength(10 + BAD.length)
    expect(await raw.scard(`${prefix}:idx:inflight`)).toBe(0)
    expect(await raw.get(`${prefix}:bad:q:default:${log}`)).toBe('taken')
    expect((await wb.flush()).status).toBe('ok')
  })
})
