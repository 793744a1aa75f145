import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {stepsFor} from '../../../src/core/buffer/steps/index.js'
import type {WriteBuffer} from '../../../src/core/buffer/write-buffer.js'
import {createPostsTable, dialectsUp, openTestDb, type DialectName, type TestDb} from '../../support/db.js'
import {cleanRedisPrefix, driversUp, engineConfig, openEngine} from '../../support/engine.js'
import {uniquePrefix} from '../../support/services.js'
import {sleep, until} from '../../support/spawn.js'

/**
 * A batch's ack overlaps applying the next batch, and the next claim overlaps that apply: neither
 * may skip the lease. Here the lease renewals start failing (and the lease expires) once the first
 * batch is committed and being acknowledged, while the second batch is being claimed: the second batch is not committed
 * (it stays in flight), the third is not claimed, and the first one's ack completes.
 */
describe.each(['postgres', 'sqlite'] as DialectName[])('a pipelined flush whose lease renewal fails, redis + %s', (dialect) => {
  const up = driversUp.redis && dialectsUp[dialect]
  const prefix = uniquePrefix()
  let db: TestDb
  let wb: WriteBuffer

  beforeAll(async () => {
    if (!up) return
    db = await openTestDb(dialect)
    wb = await openEngine(engineConfig('redis', db.url, prefix), {leaseTtlMs: 1000, batchSize: 2})
  })
  afterAll(async () => {
    if (!up) return
    await wb.close()
    await db.cleanup()
    await cleanRedisPrefix(prefix)
  })

  it.skipIf(!up)('commits nothing claimed after the renewal failed; the next flush applies each delta once', async () => {
    const posts = `${prefix}_p`
    await createPostsTable(db, posts, 6)
    for (let id = 1; id <= 6; id++) await wb.table(posts).where(id).increment('views')
    const steps = stepsFor(wb.ipc)
    const claim = steps.claim.bind(steps)
    const ack = steps.ack.bind(steps)
    const renew = wb.ipc.renew.bind(wb.ipc)
    let claims = 0
    let acks = 0
    let renewalFails = false
    steps.ack = async (...args) => {
      acks++
      return ack(...args)
    }
    steps.claim = async (...args) => {
      const claimed = await claim(...args)
      if (++claims === 2) {
        // The first batch is committed once its ack starts; then renewals fail while this (second)
        // batch waits to be applied, until the lease (1 s) has expired in the store.
        await until(() => acks >= 1, 10_000, 'the first ack')
        renewalFails = true
        await sleep(1300)
      }
      return claimed
    }
    wb.ipc.renew = async (...args) => (renewalFails ? false : renew(...args))
    try {
      const report = await wb.flush()
      expect(report).toMatchObject({status: 'partial', reason: 'lease-lost'})
      expect(claims).toBe(2)
      expect(acks).toBe(1)
      const views = (await db.knex(posts).orderBy('id').select('views')).map((r: {views: number}) => Number(r.views))
      expect(views.filter((v) => v === 1)).toHaveLength(2)
      expect(views.filter((v) => v === 0)).toHaveLength(4)
      expect(await wb.ipc.scard(`${prefix}:idx:inflight`)).toBe(1)
    } finally {
      steps.claim = claim
      steps.ack = ack
      wb.ipc.renew = renew
    }
    expect((await wb.flush()).status).toBe('ok')
    const views = (await db.knex(posts).orderBy('id').select('views')).map((r: {views: number}) => Number(r.views))
    expect(views).toEqual([1, 1, 1, 1, 1, 1])
    expect(await wb.ipc.scard(`${prefix}:idx:inflight`)).toBe(0)
    for (let id = 1; id <= 6; id++) expect(await wb.table(posts).where(id).get('views')).toBe(1)
  })
})
