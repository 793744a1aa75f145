import {describe, expect, it} from 'vitest'

import {KeySpace} from '../../../../src/core/buffer/keys.js'
import {stepsFor} from '../../../../src/core/buffer/steps/index.js'
import {redisStepsOn} from '../../../support/redis-steps.js'
import {available, uniquePrefix} from '../../../support/services.js'

const redisUp = await available('redis')

/**
 * The claim mark (redis): the flush fence counter moved past a claim, in the claim step itself, so
 * that no snapshot of Redis holds the claim without the mark, and the flush does not wait for a
 * separate INCR queued behind the ack of the batch before. A claim made under a lease that no
 * longer holds takes nothing (its mark would be above the new holder's fence, whose commits would
 * then be refused as a rolled-back store).
 */
describe.skipIf(!redisUp)('claim on redis: the mark', () => {
  const root = uniquePrefix('wbmark')
  const state = redisStepsOn(root)
  let n = 0
  const request = (counters: string[], lease?: string) => ({
    batchId: `b${n}`,
    table: 'default:posts',
    createdAt: 1,
    counters,
    updates: [],
    maxInserts: 0,
    ...(lease === undefined ? {} : {lease}),
  })

  it('moves the fence counter past the claim and answers it; not asked, or nothing claimed, it stays', async () => {
    const p = `${root}_${n++}`
    const fence = KeySpace.of(p).flushFence
    const steps = stepsFor(state.ipc)
    await state.raw.set(fence, '41')
    await state.raw.set(KeySpace.of(p).flushLock, JSON.stringify({token: 't1', host: 'h', pid: 1, acquiredAt: 1, fence: 41, ttlMs: 60_000}), 'PX', 60_000)
    await steps.increment(p, 'default:posts:1:views', 2)
    const marked = await steps.claim(p, request(['default:posts:1:views'], 't1'))
    expect(marked.mark).toBe(42)
    expect(marked.batch?.counters).toEqual([['default:posts:1:views', 2]])
    expect(await state.raw.get(fence)).toBe('42')

    const nothing = await steps.claim(p, request(['default:posts:1:views'], 't1'))
    expect(nothing).toEqual({batch: null, quarantined: []})
    expect(await state.raw.get(fence)).toBe('42')

    await steps.increment(p, 'default:posts:2:views', 1)
    const unmarked = await steps.claim(p, request(['default:posts:2:views']))
    expect(unmarked.mark).toBeUndefined()
    expect(unmarked.batch?.counters).toEqual([['default:posts:2:views', 1]])
    expect(await state.raw.get(fence)).toBe('42')
  })

  it('a fence counter that is not an integer fails the claim before it takes anything', async () => {
    const p = `${root}_${n++}`
    const fence = KeySpace.of(p).flushFence
    const steps = stepsFor(state.ipc)
    await state.raw.set(fence, 'not a number')
    await steps.increment(p, 'default:posts:1:views', 3)
    await state.raw.set(KeySpace.of(p).flushLock, JSON.stringify({token: 't1'}))
    await expect(steps.claim(p, request(['default:posts:1:views'], 't1'))).rejects.toMatchObject({name: 'WrongType', key: fence})
    expect(await state.raw.get(`${p}:c:default:posts:1:views`)).toBe('3')
    expect(await state.raw.smembers(`${p}:idx:counters`)).toEqual(['default:posts:1:views'])
    expect(await state.raw.smembers(`${p}:idx:inflight`)).toEqual([])
  })

  it.each([
    ['taken over by another holder', JSON.stringify({token: 'other', host: 'h', pid: 2, acquiredAt: 1, fence: 50, ttlMs: 60_000})],
    ['released (no lease)', null],
    ['a lease record that is not JSON', 'garbage'],
  ])('a lease %s: nothing is claimed, the fence does not move', async (_case, record) => {
    const p = `${root}_${n++}`
    const keys = KeySpace.of(p)
    const steps = stepsFor(state.ipc)
    await state.raw.set(keys.flushFence, '50')
    if (record !== null) await state.raw.set(keys.flushLock, record)
    await steps.increment(p, 'default:posts:1:views', 4)
    expect(await steps.claim(p, request(['default:posts:1:views'], 't1'))).toEqual({batch: null, quarantined: [], leaseLost: true})
    expect(await state.raw.get(keys.flushFence)).toBe('50')
    expect(await state.raw.get(`${p}:c:default:posts:1:views`)).toBe('4')
    expect(await state.raw.smembers(`${p}:idx:counters`)).toEqual(['default:posts:1:views'])
    expect(await state.raw.smembers(`${p}:idx:inflight`)).toEqual([])
  })
})
