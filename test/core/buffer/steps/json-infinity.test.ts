import {describe, expect, it} from 'vitest'

import {stepsFor} from '../../../../src/core/buffer/steps/index.js'
import {redisStepsOn} from '../../../support/redis-steps.js'
import {available, uniquePrefix} from '../../../support/services.js'

const redisUp = await available('redis')

/**
 * State cjson reads but cannot write back ("[1e400]" decodes to an infinity) once failed the step
 * half-way, when it was shown in a reason: the ack after it had set the integer bases before it
 * (each retry added their deltas again), the claim after it had taken the slice's counters out of
 * the index (their deltas were never flushed).
 */
describe.skipIf(!redisUp)('redis steps: state holding JSON with an infinity', () => {
  const prefix = uniquePrefix('wbjsoninf')
  const state = redisStepsOn(prefix)

  it('ack: such a base is dropped (noted) and the integer base before it takes its delta once', async () => {
    const steps = stepsFor(state.ipc)
    const [good, bad] = ['default:posts:1:views', 'default:posts:2:views']
    await steps.increment(prefix, good, 5)
    await steps.increment(prefix, bad, 1)
    await steps.claim(prefix, {batchId: 'b1', table: 'default:posts', createdAt: 1, counters: [good, bad], updates: [], maxInserts: 0})
    await state.raw.set(`${prefix}:b:${good}`, '100', 'EX', 600)
    await state.raw.set(`${prefix}:b:${bad}`, '[1e400]')
    expect(await steps.ack(prefix, 'b1', [])).toBe(true)
    expect(await steps.ack(prefix, 'b1', [])).toBe(false)
    expect(await state.raw.get(`${prefix}:b:${good}`)).toBe('105')
    expect(await state.raw.ttl(`${prefix}:b:${good}`)).toBeGreaterThan(590)
    expect(await state.raw.exists(`${prefix}:b:${bad}`)).toBe(0)
    expect(await state.raw.get(`${prefix}:bad:b:${bad}`)).toBe('[1e400]')
    const noted = JSON.parse((await state.raw.hget(`${prefix}:idx:bad`, `b:${bad}`))!) as {reason: string}
    expect(noted.reason).toBe('cached base holds "[1e400]", not a number; dropped (read again from the database)')
  })

  it('claim: such a live counter is set aside (noted) and the others of its slice are claimed', async () => {
    const steps = stepsFor(state.ipc)
    const [good, bad] = ['default:posts:3:views', 'default:posts:4:views']
    await steps.increment(prefix, good, 5)
    await steps.increment(prefix, bad, 1)
    await state.raw.set(`${prefix}:c:${bad}`, '[1e400]')
    const {batch, quarantined} = await steps.claim(prefix, {batchId: 'b2', table: 'default:posts', createdAt: 1, counters: [good, bad], updates: [], maxInserts: 0})
    expect(batch?.counters).toEqual([[good, 5]])
    expect(quarantined).toEqual([{key: `c:${bad}`, reason: 'holds "[1e400]", not a number'}])
    expect(await state.raw.get(`${prefix}:bad:c:${bad}`)).toBe('[1e400]')
  })
})
