import {describe, expect, it} from 'vitest'

import {counterBreakdown, counterTotal} from '../../../src/core/buffer/counter-total.js'
import type {WriteBuffer} from '../../../src/core/buffer/write-buffer.js'
import type {WbcConfigInput} from '../../../src/core/config/schema.js'
import {createPostsTable, dialectsUp, type DialectName, type TestDb} from '../../support/db.js'
import {driversUp, redisEngineFor} from '../../support/engine.js'
import {uniquePrefix} from '../../support/services.js'
import {startFixture} from '../../support/spawn.js'
import type {BufferSteps} from '../../../src/core/buffer/steps/index.js'

/** The same steps, except that caching a base never succeeds (as when every attempt races a claim or an ack). */
function neverCaches(steps: BufferSteps): BufferSteps {
  return new Proxy(steps, {
    get: (target, name) => (name === 'cacheBase' ? async () => ({cached: false, live: 0, inflight: 0}) : Reflect.get(target, name, target)),
  })
}

/**
 * A counter's total when its base cannot be cached: a batch committed to the database but not
 * yet acknowledged (its flusher died) is in the DB value already and must not be added again.
 */
describe.each(['postgres', 'mysql', 'sqlite'] as DialectName[])('counter totals without a cached base, redis + %s', (dialect) => {
  const up = driversUp.redis && dialectsUp[dialect]
  const prefix = uniquePrefix()
  let db: TestDb
  let config: WbcConfigInput
  let wb: WriteBuffer

  redisEngineFor(dialect, up, prefix, (opened) => ({db, config, wb} = opened))

  it.skipIf(!up)('counts a committed, unacknowledged batch once', async () => {
    const posts = `${prefix}_t`
    await createPostsTable(db, posts, 3)
    await db.knex(posts).where({id: 1}).update({views: 100})
    await wb.table(posts).where(1).increment('views', 7)
    // Committed, then killed before the acknowledgement: 7 is in the DB and still in flight.
    const result = await startFixture('flush-once.ts', {WBC_TEST_CONFIG: JSON.stringify(config), WBC_FAILPOINT: 'after-commit', LEASE_TTL_MS: '1000'}).exit
    expect(result.signal).toBe('SIGKILL')
    expect(Number((await db.knex(posts).where({id: 1}).first('views')).views)).toBe(107)
    await wb.table(posts).where(1).increment('views', 2) // live, not yet claimed
    const member = `default:${posts}:1:views`
    // No cached base (it expired): the total must come from the database and the ledger.
    await wb.ipc.del(`${prefix}:b:${member}`)
    expect(await counterTotal(neverCaches(wb.steps), prefix, wb.databases.get('default'), member, 'id', 60_000)).toBe(109)
    // The cached path agrees.
    await wb.ipc.del(`${prefix}:b:${member}`)
    expect(await counterTotal(wb.steps, prefix, wb.databases.get('default'), member, 'id', 60_000)).toBe(109)
    // The parts (what `wbc get` shows) add up: the base is the DB value without the applied batch.
    const parts = {base: 100, inflight: 7, live: 2, total: 109}
    await wb.ipc.del(`${prefix}:b:${member}`)
    expect(await counterBreakdown(neverCaches(wb.steps), prefix, wb.databases.get('default'), member, 'id', 60_000)).toEqual({...parts, baseSource: 'database'})
    expect(await wb.table(posts).where(1).breakdown('views')).toEqual({...parts, baseSource: 'database'})
    expect(await wb.table(posts).where(1).breakdown('views')).toEqual({...parts, baseSource: 'cache'})
  })
})
