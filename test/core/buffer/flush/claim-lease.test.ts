import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {ClaimPipeline} from '../../../../src/core/buffer/flush/claim-pipeline.js'
import {RunLease} from '../../../../src/core/buffer/flush/lease.js'
import {FlushRun} from '../../../../src/core/buffer/flush/run.js'
import {KeySpace} from '../../../../src/core/buffer/keys.js'
import {stepsFor, type StoredBatch} from '../../../../src/core/buffer/steps/index.js'
import {parseConfig} from '../../../../src/core/config/load.js'
import {createIpc} from '../../../../src/core/ipc/create.js'
import {deleteMatching} from '../../../../src/core/ipc/cursor.js'
import type {Ipc, Lease} from '../../../../src/core/ipc/types.js'
import {available, uniquePrefix, urls} from '../../../support/services.js'

const redisUp = await available('redis')

/**
 * The claim step checks the run's lease token (redis). A run that takes its lease again while a
 * claim is on its way (the fence catching up: moveFencePast unlocks and locks under a new token)
 * sent the old token: its claim is made once more under the new one, not taken for a lost lease.
 */
describe.skipIf(!redisUp)('claim pipeline: a lease taken again during a claim', () => {
  const prefix = uniquePrefix('wbclease')
  let ipc: Ipc
  beforeAll(async () => {
    ipc = await createIpc(parseConfig({ipc: {driver: 'redis', redis: urls.redis}}).ipc)
  })
  afterAll(async () => {
    await deleteMatching(ipc, `${prefix}*`).catch(() => {})
    await ipc?.close()
  })

  it('claims under the current token; a lease really taken over still claims nothing', async () => {
    const keys = KeySpace.of(prefix)
    const steps = stepsFor(ipc)
    const take = async () => (await ipc.lock(keys.flushLock, 30))!
    const first = await take()
    await steps.increment(prefix, 'default:posts:1:views', 3)

    const run = async (lease: RunLease, during: () => Promise<void>) => {
      const processed: StoredBatch[] = []
      const claim = steps.claim
      let once = true
      steps.claim = async (...args) => {
        if (once) {
          once = false
          await during()
        }
        return claim.apply(steps, args)
      }
      try {
        const flushRun = new FlushRun(ipc, keys, {}, lease, undefined)
        const pipeline = new ClaimPipeline({
          ipc,
          keys,
          batchSize: 100,
          lease,
          run: flushRun,
          process: (batch, _recovered, _mark, committed) => {
            processed.push(batch)
            committed?.()
            return steps.ack(prefix, batch.id, []).then(() => undefined)
          },
          prepare: () => ({}),
        })
        await pipeline.claimKeyed('counters')
        await pipeline.applied()
      } finally {
        steps.claim = claim
      }
      return processed
    }

    // The run takes its lease again (a new token) while its claim is on its way.
    const own = new RunLease(ipc, keys, first, 30_000, performance.now())
    let second: Lease | undefined
    const processed = await run(own, async () => {
      await ipc.unlock(keys.flushLock, first.token)
      second = await take()
      own.current = second
    })
    expect(own.lost).toBe(false)
    expect(processed.map((b) => b.counters)).toEqual([[['default:posts:1:views', 3]]])

    // Another holder takes the lease while the claim is on its way: nothing is claimed.
    await steps.increment(prefix, 'default:posts:1:views', 4)
    const stale = new RunLease(ipc, keys, second!, 30_000, performance.now())
    const none = await run(stale, async () => {
      await ipc.unlock(keys.flushLock, second!.token)
      await take()
    })
    expect(stale.lost).toBe(true)
    expect(none).toEqual([])
    expect(await ipc.smembers(keys.countersIndex)).toEqual(['default:posts:1:views'])
  })
})
