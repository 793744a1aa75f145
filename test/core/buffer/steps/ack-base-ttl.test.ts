import {Redis} from 'ioredis'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {stepsFor} from '../../../../src/core/buffer/steps/index.js'
import {parseConfig} from '../../../../src/core/config/load.js'
import {createIpc} from '../../../../src/core/ipc/create.js'
import {deleteMatching} from '../../../../src/core/ipc/cursor.js'
import type {Ipc} from '../../../../src/core/ipc/types.js'
import {available, uniquePrefix, urls} from '../../../support/services.js'

const redisUp = await available('redis')

/**
 * The ack writes an integer base's new value itself (SET … KEEPTTL) instead of INCRBYFLOAT: a base
 * is a cache, and one that lost its expiry would never be read again from the database.
 */
describe.skipIf(!redisUp)('ack on redis: a cached base keeps its expiry', () => {
  const prefix = uniquePrefix('wbackttl')
  let ipc: Ipc
  let raw: Redis
  beforeAll(async () => {
    ipc = await createIpc(parseConfig({ipc: {driver: 'redis', redis: urls.redis}}).ipc)
    raw = new Redis(urls.redis)
  })
  afterAll(async () => {
    await deleteMatching(ipc, `${prefix}*`).catch(() => {})
    raw?.disconnect()
    await ipc?.close()
  })

  it('integer and fractional bases alike', async () => {
    const steps = stepsFor(ipc)
    const members = ['default:posts:1:views', 'default:posts:2:views', 'default:posts:3:views']
    await steps.increment(prefix, members[0], 3)
    await steps.increment(prefix, members[1], 0.5)
    await steps.increment(prefix, members[2], 4)
    await steps.claim(prefix, {batchId: 'b1', table: 'default:posts', createdAt: 1, counters: members, updates: [], maxInserts: 0})
    await raw.set(`${prefix}:b:${members[0]}`, '40', 'EX', 600)
    await raw.set(`${prefix}:b:${members[1]}`, '40', 'EX', 600)
    await raw.set(`${prefix}:b:${members[2]}`, '40') // no expiry: none is added
    expect(await steps.ack(prefix, 'b1', [])).toBe(true)
    expect(await raw.mget(members.map((m) => `${prefix}:b:${m}`))).toEqual(['43', '40.5', '44'])
    const ttls = await Promise.all(members.map((m) => raw.ttl(`${prefix}:b:${m}`)))
    expect(ttls[0]).toBeGreaterThan(590)
    expect(ttls[1]).toBeGreaterThan(590)
    expect(ttls[2]).toBe(-1)
  })
})
