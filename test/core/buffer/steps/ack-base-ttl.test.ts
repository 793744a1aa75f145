import {describe, expect, it} from 'vitest'

import {stepsFor} from '../../../../src/core/buffer/steps/index.js'
import {redisStepsOn} from '../../../support/redis-steps.js'
import {available, uniquePrefix} from '../../../support/services.js'

const redisUp = await available('redis')

/**
 * The ack writes an integer base's new value itself (SET … KEEPTTL) instead of INCRBYFLOAT: a base
 * is a cache, and one that lost its expiry would never be read again from the database.
 */
describe.skipIf(!redisUp)('ack on redis: a cached base keeps its expiry', () => {
  const prefix = uniquePrefix('wbackttl')
  const state = redisStepsOn(prefix)

  it('integer and fractional bases alike', async () => {
    const steps = stepsFor(state.ipc)
    const members = ['default:posts:1:views', 'default:posts:2:views', 'default:posts:3:views']
    await steps.increment(prefix, members[0], 3)
    await steps.increment(prefix, members[1], 0.5)
    await steps.increment(prefix, members[2], 4)
    await steps.claim(prefix, {batchId: 'b1', table: 'default:posts', createdAt: 1, counters: members, updates: [], maxInserts: 0})
    await state.raw.set(`${prefix}:b:${members[0]}`, '40', 'EX', 600)
    await state.raw.set(`${prefix}:b:${members[1]}`, '40', 'EX', 600)
    await state.raw.set(`${prefix}:b:${members[2]}`, '40') // no expiry: none is added
    expect(await steps.ack(prefix, 'b1', [])).toBe(true)
    expect(await state.raw.mget(members.map((m) => `${prefix}:b:${m}`))).toEqual(['43', '40.5', '44'])
    const ttls = await Promise.all(members.map((m) => state.raw.ttl(`${prefix}:b:${m}`)))
    expect(ttls[0]).toBeGreaterThan(590)
    expect(ttls[1]).toBeGreaterThan(590)
    expect(ttls[2]).toBe(-1)
  })
})
