import {connect, createServer, type AddressInfo, type Server} from 'node:net'

import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {stepsFor} from '../../../src/core/buffer/steps/index.js'
import type {WriteBuffer} from '../../../src/core/buffer/write-buffer.js'
import {createPostsTable, dialectsUp, openTestDb, type DialectName, type TestDb} from '../../support/db.js'
import {cleanRedisPrefix, driversUp, type DriverName, engineConfig, openEngine} from '../../support/engine.js'
import {uniquePrefix, urls} from '../../support/services.js'
import {sleep, until} from '../../support/spawn.js'

/**
 * Review of the pipelined flush (an ack overlapping the next batch's apply): totals returned by
 * increment() and get() while flushes run in small batches stay exact, and the database holds
 * every delta once afterwards.
 */
const setups: Array<[DriverName, DialectName]> = [
  ['redis', 'postgres'],
  ['redis', 'sqlite'],
  ['memory', 'postgres'],
  ['memory', 'sqlite'],
]

describe.each(setups)('pipelined flush under concurrent writes, %s + %s', (driver, dialect) => {
  const up = driversUp[driver] && dialectsUp[dialect]
  const prefix = uniquePrefix()
  let db: TestDb
  let wb: WriteBuffer

  beforeAll(async () => {
    if (!up) return
    db = await openTestDb(dialect)
    // Bases expire almost at once, so many totals are read cold while batches are in flight.
    wb = await openEngine(engineConfig(driver, db.url, prefix), {leaseTtlMs: 5000, batchSize: 2, baseCacheTtlMs: 20})
  })
  afterAll(async () => {
    if (!up) return
    await wb.close()
    await db.cleanup()
    if (driver === 'redis') await cleanRedisPrefix(prefix)
  })

  it.skipIf(!up)(
    'every increment() and get() answers the exact total while acks overlap applies',
    async () => {
      const posts = `${prefix}_p`
      const rows = 12
      await createPostsTable(db, posts, rows)
      const expected = new Array(rows + 1).fill(0)
      const wrong: string[] = []
      let writing = true
      const writer = async (id: number) => {
        for (let k = 0; k < 60; k++) {
          const total = await wb.table(posts).where(id).increment('views')
          expected[id]++
          if (total !== expected[id]) wrong.push(`increment ${id}: ${total} != ${expected[id]}`)
          const read = await wb.table(posts).where(id).get('views')
          if (read !== expected[id]) wrong.push(`get ${id}: ${read} != ${expected[id]}`)
          await new Promise((r) => setTimeout(r, Math.random() * 3))
        }
      }
      const flusher = async () => {
        while (writing) await wb.flush()
      }
      const flushing = flusher()
      await Promise.all(Array.from({length: rows}, (_, i) => writer(i + 1)))
      writing = false
      await flushing
      expect((await wb.flush()).status).toBe('ok')
      expect(wrong.slice(0, 10)).toEqual([])
      const views = (await db.knex(posts).orderBy('id').select('views')).map((r: {views: number}) => Number(r.views))
      expect(views).toEqual(expected.slice(1))
    },
    120_000,
  )

  it.skipIf(!up)(
    'an ack that fails while the next batch commits: nothing applied twice or lost after recovery',
    async () => {
      const posts = `${prefix}_a`
      const rows = 8
      await createPostsTable(db, posts, rows)
      const expected = new Array(rows + 1).fill(0)
      const wrong: string[] = []
      const steps = stepsFor(wb.ipc)
      const ack = steps.ack.bind(steps)
      let acks = 0
      steps.ack = async (...args) => {
        // Every third ack fails (half of them after writing, as a reply lost on the way back).
        const n = ++acks
        if (n % 3 === 0) throw new Error('ack refused (review)')
        if (n % 3 === 1 && n % 2 === 0) {
          await ack(...args)
          throw new Error('ack reply lost (review)')
        }
        return ack(...args)
      }
      try {
        for (let round = 0; round < 6; round++) {
          for (let id = 1; id <= rows; id++) {
            for (let k = 0; k < 1 + (id % 3); k++) {
              const total = await wb.table(posts).where(id).increment('views')
              expected[id]++
              if (total !== expected[id]) wrong.push(`round ${round} increment ${id}: ${total} != ${expected[id]}`)
            }
          }
          const flushing = wb.flush()
          for (let id = 1; id <= rows; id++) {
            const read = await wb.table(posts).where(id).get('views')
            if (read !== expected[id]) wrong.push(`round ${round} get during flush ${id}: ${read} != ${expected[id]}`)
          }
          await flushing
          for (let id = 1; id <= rows; id++) {
            const read = await wb.table(posts).where(id).get('views')
            if (read !== expected[id]) wrong.push(`round ${round} get after flush ${id}: ${read} != ${expected[id]}`)
          }
        }
      } finally {
        steps.ack = ack
      }
      expect((await wb.flush()).status).toBe('ok')
      expect((await wb.flush()).status).toBe('ok')
      for (let id = 1; id <= rows; id++) {
        const read = await wb.table(posts).where(id).get('views')
        if (read !== expected[id]) wrong.push(`final get ${id}: ${read} != ${expected[id]}`)
      }
      expect(wrong.slice(0, 10)).toEqual([])
      const views = (await db.knex(posts).orderBy('id').select('views')).map((r: {views: number}) => Number(r.views))
      expect(views).toEqual(expected.slice(1))
      expect(await wb.ipc.scard(`${prefix}:idx:inflight`)).toBe(0)
    },
    120_000,
  )

  it.skipIf(!up || driver !== 'redis')(
    'a counter key of the wrong type among 1,200 in one claim: only it is quarantined, the rest flushed exactly',
    async () => {
      const posts = `${prefix}_w`
      const rows = 1200
      await createPostsTable(db, posts, rows)
      for (let id = 1; id <= rows; id++) await wb.table(posts).where(id).increment('views', id)
      // Row 700 (in the first slice of 1,000) holds a hash instead of a number.
      const member = `default:${posts}:700:views`
      await wb.ipc.del(`${prefix}:c:${member}`)
      await wb.ipc.hset(`${prefix}:c:${member}`, {x: 1})
      const steps = stepsFor(wb.ipc)
      const claim = steps.claim.bind(steps)
      // Every counter member named twice, as SSCAN may return one.
      steps.claim = async (p, request) => claim(p, {...request, counters: [...request.counters, ...request.counters]})
      try {
        await wb.flush()
      } finally {
        steps.claim = claim
      }
      const views = (await db.knex(posts).orderBy('id').select('views')).map((r: {views: number}) => Number(r.views))
      expect(views).toEqual(Array.from({length: rows}, (_, i) => (i + 1 === 700 ? 0 : i + 1)))
      expect(await wb.ipc.scard(`${prefix}:idx:inflight`)).toBe(0)
      for (const id of [1, 699, 701, 1000, 1001, 1200]) expect(await wb.table(posts).where(id).get('views')).toBe(id)
      expect(await wb.ipc.type(`${prefix}:bad:c:${member}`)).toBe('hash')
    },
    120_000,
  )
})

/**
 * A step whose reply is lost with its connection (Redis restarted, a proxy or the network cut it)
 * has run once already: sending it again on the new connection would apply it twice.
 */
describe('a step whose reply is lost, redis + sqlite', () => {
  const up = driversUp.redis && dialectsUp.sqlite
  const prefix = uniquePrefix()
  let db: TestDb
  let wb: WriteBuffer
  let proxy: Server
  // Set: the next reply from Redis is not passed on, the client's connection is cut instead.
  let dropNextReply = false

  beforeAll(async () => {
    if (!up) return
    const redis = new URL(urls.redis)
    proxy = createServer((client) => {
      const server = connect(Number(redis.port || 6379), redis.hostname)
      client.pipe(server)
      server.on('data', (data) => {
        if (!dropNextReply) return void client.write(data)
        dropNextReply = false
        client.destroy()
        server.destroy()
      })
      client.on('error', () => {})
      server.on('error', () => {})
      client.on('close', () => server.destroy())
    })
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve))
    db = await openTestDb('sqlite')
    const config = engineConfig('redis', db.url, prefix)
    config.ipc = {...config.ipc, redis: `redis://127.0.0.1:${(proxy.address() as AddressInfo).port}`}
    wb = await openEngine(config)
  })
  afterAll(async () => {
    if (!up) return
    await wb.close()
    await db.cleanup()
    await cleanRedisPrefix(prefix)
    proxy.close()
  })

  it.skipIf(!up)('an increment whose reply was lost is not applied again', async () => {
    const posts = `${prefix}_l`
    await createPostsTable(db, posts, 1)
    expect(await wb.table(posts).where(1).increment('views')).toBe(1)
    dropNextReply = true
    // The increment ran; its caller may be told it failed, but it never counts twice.
    await wb
      .table(posts)
      .where(1)
      .increment('views')
      .catch(() => {})
    await until(async () => (await wb.ipc.scard(`${prefix}:idx:counters`).catch(() => -1)) >= 0, 5000, 'the reconnection')
    expect(await wb.table(posts).where(1).get('views')).toBe(2)
    expect((await wb.flush()).status).toBe('ok')
    expect((await db.knex(posts).select('views'))[0].views).toBe(2)
  })

  it.skipIf(!up)(
    'a claim or an ack whose reply was lost: the next flushes apply each delta once',
    async () => {
      const posts = `${prefix}_c`
      await createPostsTable(db, posts, 3)
      const steps = stepsFor(wb.ipc)
      const claim = steps.claim.bind(steps)
      const ack = steps.ack.bind(steps)
      let expected = 0
      for (const step of ['claim', 'ack'] as const) {
        for (let id = 1; id <= 3; id++) await wb.table(posts).where(id).increment('views', 2)
        expected += 2
        let dropped = false
        const dropOnce = () => {
          if (!dropped) dropNextReply = dropped = true
        }
        if (step === 'claim')
          steps.claim = async (...args) => {
            dropOnce()
            return claim(...args)
          }
        else
          steps.ack = async (...args) => {
            dropOnce()
            return ack(...args)
          }
        try {
          await wb.flush().catch(() => {})
        } finally {
          steps.claim = claim
          steps.ack = ack
        }
        // Written while the batch is left in flight; the next flush takes both.
        for (let id = 1; id <= 3; id++) await wb.table(posts).where(id).increment('views', 1)
        expected += 1
        for (let id = 1; id <= 3; id++) expect(await wb.table(posts).where(id).get('views')).toBe(expected)
        await sleep(1100)
        expect((await wb.flush()).status).toBe('ok')
        const views = (await db.knex(posts).orderBy('id').select('views')).map((r: {views: number}) => Number(r.views))
        expect(views).toEqual([expected, expected, expected])
        for (let id = 1; id <= 3; id++) expect(await wb.table(posts).where(id).get('views')).toBe(expected)
      }
    },
    60_000,
  )
})
