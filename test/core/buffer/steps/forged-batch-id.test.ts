import {Redis} from 'ioredis'
import {afterAll, describe, expect, it} from 'vitest'

import {openTestDb, type TestDb} from '../../../support/db.js'
import {cleanRedisPrefix, driversUp, engineConfig, openEngine, type DriverName} from '../../../support/engine.js'
import {uniquePrefix, urls} from '../../../support/services.js'

/**
 * decodeBatch: a batch is addressed by its inner id (ledger rows, dead letters, the ack). A batch
 * written by someone else under `{prefix}:if:A` whose inner id is B, the id of a real batch in
 * flight, was applied and acknowledged as B: B's deltas were never applied and B was forgotten.
 */
describe.each(['redis', 'memory'] as DriverName[])('a batch in flight whose id is not its key (%s)', (driver) => {
  const up = driversUp[driver]
  const prefix = uniquePrefix()
  let db: TestDb
  afterAll(async () => {
    await db?.cleanup()
    if (driver === 'redis' && up) await cleanRedisPrefix(prefix)
  })

  it.skipIf(!up)('is quarantined whole; the real batch it names is applied exactly once', async () => {
    db = await openTestDb('sqlite')
    await db.knex.schema.createTable('forged_ids', (t) => {
      t.integer('id').primary()
      t.integer('n')
    })
    db.created.push('forged_ids')
    await db.knex('forged_ids').insert([
      {id: 1, n: 0},
      {id: 2, n: 0},
    ])
    const wb = await openEngine(engineConfig(driver, db.url, prefix))
    try {
      // A real batch left in flight (claimed, not applied), as a crashed flusher leaves it.
      await wb.steps.increment(prefix, 'default:forged_ids:1:n', 7)
      const real = await wb.steps.claim(prefix, {batchId: '0000-real', table: 'default:forged_ids', createdAt: 1, counters: ['default:forged_ids:1:n'], updates: [], maxInserts: 0})
      expect(real.batch?.id).toBe('0000-real')
      // The forged batch sorts first and claims the real one's id.
      const forged = {id: '0000-real', table: 'default:forged_ids', createdAt: 1, counters: [['default:forged_ids:2:n', 1]], updates: [], inserts: []}
      if (driver === 'redis') {
        const raw = new Redis(urls.redis)
        await raw.set(`${prefix}:if:0000-a`, JSON.stringify(forged))
        raw.disconnect()
      } else await wb.ipc.set(`${prefix}:if:0000-a`, forged, 0)
      await wb.ipc.sadd(`${prefix}:idx:inflight`, '0000-a')

      const report = await wb.flush()
      expect(report.quarantined).toEqual([{key: 'if:0000-a', reason: expect.stringContaining('its id "0000-real" is not the id it is kept under')}])
      expect(await db.knex('forged_ids').select().orderBy('id')).toEqual([
        {id: 1, n: 7},
        {id: 2, n: 0},
      ])
      expect(await wb.ipc.smembers(`${prefix}:idx:inflight`)).toEqual([])
      expect(await wb.table('forged_ids').where(1).get('n')).toBe(7)
      expect(Object.keys((await wb.ipc.hgetall(`${prefix}:idx:bad`)) ?? {})).toEqual(['if:0000-a'])
      expect((await wb.flush()).status).toBe('ok')
      expect(await db.knex('forged_ids').select().orderBy('id')).toEqual([
        {id: 1, n: 7},
        {id: 2, n: 0},
      ])
    } finally {
      await wb.close()
    }
  })
})
