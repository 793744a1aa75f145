/**
 * State written as raw text by another Redis client: text the Lua checks once let through but
 * that INCR, HINCRBY or INCRBYFLOAT refuse (so a step failed after some of its writes), and
 * counter text that Lua reads as a number but the engine cannot ("-0x10": NaN in the batch).
 */
import {Redis} from 'ioredis'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {createWriteBuffer} from '../../../src/core/buffer/write-buffer.js'
import {parseConfig} from '../../../src/core/config/load.js'
import {createIpc} from '../../../src/core/ipc/create.js'
import {deleteMatching} from '../../../src/core/ipc/cursor.js'
import type {Ipc} from '../../../src/core/ipc/types.js'
import {openTestDb, type TestDb} from '../../support/db.js'
import {available, uniquePrefix, urls} from '../../support/services.js'
import {stepsFor} from '../../../src/core/buffer/steps/index.js'

const redisUp = await available('redis')
const table = 'default:posts'
const member = `${table}:1:views`
const row = `${table}:1`

describe.skipIf(!redisUp)('raw text written by another redis client', () => {
  let ipc: Ipc
  let raw: Redis
  const prefix = uniquePrefix('wbraw')
  let n = 0
  const fresh = () => `${prefix}_${n++}`

  /** Every key under `{p}:` with its raw content. */
  const dump = async (p: string) => {
    const state: Record<string, unknown> = {}
    for (const key of (await raw.keys(`${p}:*`)).sort()) {
      const type = await raw.type(key)
      state[key] =
        type === 'string' ? await raw.get(key) : type === 'hash' ? await raw.hgetall(key) : type === 'set' ? (await raw.smembers(key)).sort() : type === 'list' ? await raw.lrange(key, 0, -1) : type
    }
    return state
  }
  const failsUnchanged = async (p: string, step: () => Promise<unknown>, key: string) => {
    const before = await dump(p)
    await expect(step()).rejects.toMatchObject({name: 'WrongType', key})
    expect(await dump(p)).toEqual(before)
  }

  beforeAll(async () => {
    ipc = await createIpc(parseConfig({ipc: {driver: 'redis', redis: urls.redis}}).ipc)
    raw = new Redis(urls.redis)
  })
  afterAll(async () => {
    await deleteMatching(ipc, `${prefix}*`)
    await ipc.close()
    raw.disconnect()
  })

  // Integers the old check (^-?%d+$) passed and INCR/HINCRBY refuse.
  for (const text of ['007', '-0', '00']) {
    it(`increment: a write count of "${text}" fails before the delta is applied`, async () => {
      const p = fresh()
      await raw.hset(`${p}:stats:${table}`, 'writes', text)
      await failsUnchanged(p, () => stepsFor(ipc).increment(p, member, 5), `${p}:stats:${table}`)
    })
    it(`claim: a generation of "${text}" fails before anything is taken`, async () => {
      const p = fresh()
      await stepsFor(ipc).increment(p, member, 5)
      await stepsFor(ipc).update(p, row, {title: 'x'})
      await raw.set(`${p}:gen:${table}`, text)
      await failsUnchanged(p, () => stepsFor(ipc).claim(p, {batchId: 'b1', table, createdAt: 1, counters: [member], updates: [row], maxInserts: 0}), `${p}:gen:${table}`)
    })
    it(`ack: a generation of "${text}" fails before the batch is forgotten`, async () => {
      const p = fresh()
      await stepsFor(ipc).increment(p, member, 5)
      await stepsFor(ipc).claim(p, {batchId: 'b1', table, createdAt: 1, counters: [member], updates: [], maxInserts: 0})
      await raw.set(`${p}:b:${member}`, '10')
      await raw.set(`${p}:gen:${table}`, text)
      await failsUnchanged(p, () => stepsFor(ipc).ack(p, 'b1', []), `${p}:gen:${table}`)
    })
    it(`ack: a flushed count of "${text}" fails before the batch is forgotten`, async () => {
      const p = fresh()
      await stepsFor(ipc).increment(p, member, 5)
      await stepsFor(ipc).claim(p, {batchId: 'b1', table, createdAt: 1, counters: [member], updates: [], maxInserts: 0})
      await raw.hset(`${p}:stats:${table}`, 'flushed', text)
      await failsUnchanged(p, () => stepsFor(ipc).ack(p, 'b1', []), `${p}:stats:${table}`)
    })
  }

  // Numbers Lua reads but INCRBYFLOAT refuses: the requeue used to remove the dead letter first.
  for (const [label, text] of [
    ['underflowing to 0', '1e-5000'],
    ['of 5,203 characters', `0.${'0'.repeat(5200)}1`],
  ]) {
    it(`requeue: a live counter ${label} fails with the dead letter kept and nothing re-buffered`, async () => {
      const p = fresh()
      await raw.hset(`${p}:dl:${table}`, 'b1:0', JSON.stringify({id: 'b1:0'}))
      await raw.set(`${p}:c:${member}`, text)
      await failsUnchanged(
        p,
        () =>
          stepsFor(ipc).requeue(p, table, 'b1:0', {
            kind: 'counter',
            deltas: [
              [`${table}:2:views`, 7],
              [member, 3],
            ],
          }),
        `${p}:c:${member}`,
      )
    })
  }

  describe('a live counter Lua reads as a number but the engine cannot', () => {
    let db: TestDb
    beforeAll(async () => {
      db = await openTestDb('sqlite')
    })
    afterAll(async () => {
      await db?.cleanup()
    })
    for (const text of ['-0x10', '0x1p4', '0x10', ' 5']) {
      it(`"${text}": get() fails naming the key, the claim quarantines it, the database is untouched`, async () => {
        const p = fresh()
        const posts = `raw${n}_${prefix}`
        await db.knex.schema.createTable(posts, (t) => {
          t.integer('id').primary()
          t.double('views').notNullable().defaultTo(0)
        })
        db.created.push(posts)
        await db.knex(posts).insert({id: 1, views: 100})
        const counter = `default:${posts}:1:views`
        const wb = await createWriteBuffer({ipc, connections: {default: db.knex}, prefix: p}, {timers: false})
        try {
          const posting = wb.table(posts).where(1)
          expect(await posting.increment('views', 1)).toBe(101)
          await raw.set(`${p}:c:${counter}`, text)
          await expect(posting.get('views')).rejects.toMatchObject({name: 'WrongType', key: `${p}:c:${counter}`})
          const report = await wb.flush()
          expect(report.quarantined).toEqual([{key: `c:${counter}`, reason: `holds ${JSON.stringify(text)}, not a number`}])
          expect(await raw.smembers(`${p}:idx:inflight`)).toEqual([])
          expect(await raw.get(`${p}:bad:c:${counter}`)).toBe(text)
          expect(await db.knex(posts).select('id', 'views')).toEqual([{id: 1, views: 100}])
          expect(await posting.get('views')).toBe(100)
        } finally {
          await wb.close()
        }
      })
    }
  })
})
