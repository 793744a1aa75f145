import {spawnSync} from 'node:child_process'
import {rmSync} from 'node:fs'

import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {epochKey, rollbackKey} from '../../../src/core/buffer/rollback.js'
import type {WriteBuffer} from '../../../src/core/buffer/write-buffer.js'
import {parseConfig} from '../../../src/core/config/load.js'
import type {WbcConfigInput} from '../../../src/core/config/schema.js'
import {readStatus} from '../../../src/core/inspect/status.js'
import {deleteMatching} from '../../../src/core/ipc/cursor.js'
import {assessRollback, resyncAfterRollback} from '../../../src/core/recover-rollback.js'
import {FENCE_TABLE} from '../../../src/core/sql/ledger.js'
import {createPostsTable, dialectsUp, openTestDb, type DialectName, type TestDb} from '../../support/db.js'
import {engineConfig, openEngine} from '../../support/engine.js'
import {DedicatedRedis} from '../../../chaos/services.js'
import {uniquePrefix} from '../../support/services.js'

const redisServer = spawnSync('redis-server', ['--version']).status === 0
if (!redisServer) console.warn('\n!!!! SKIPPING ROLLBACK TESTS: redis-server is not on PATH !!!!\n')

/**
 * Redis's default persistence is RDB snapshots: killed and restarted, it comes back as it was at
 * the last snapshot — with deltas the database already has, and an older fence counter. Flushing
 * them again would apply them twice: the flusher must refuse, loudly, until an operator decides.
 */
describe.each(['postgres', 'mysql', 'sqlite'] as DialectName[])('a Redis restarted from an older snapshot, %s', (dialect) => {
  const up = redisServer && dialectsUp[dialect]
  let redis: DedicatedRedis
  let db: TestDb
  const open: WriteBuffer[] = []
  const prefixes: string[] = []

  beforeAll(async () => {
    if (!up) return
    redis = await DedicatedRedis.start({appendonly: false})
    db = await openTestDb(dialect)
  })
  afterAll(async () => {
    if (!up) return
    for (const wb of open) await wb.disconnect().catch(() => {})
    await redis?.stop()
    await db
      ?.knex(FENCE_TABLE)
      .whereIn('name', prefixes)
      .delete()
      .catch(() => {})
    await db?.cleanup()
  })

  /** A fresh prefix and table on the test's own Redis. */
  async function setup(): Promise<{config: WbcConfigInput; prefix: string; posts: string; engine: () => Promise<WriteBuffer>}> {
    const prefix = uniquePrefix('wbr')
    prefixes.push(prefix)
    const posts = `${prefix}_p`
    await createPostsTable(db, posts, 3)
    const config = {...engineConfig('redis', db.url, prefix), ipc: {driver: 'redis' as const, redis: redis.url, prefix}}
    const engine = async () => {
      const wb = await openEngine(config, {leaseTtlMs: 5000})
      open.push(wb)
      return wb
    }
    return {config, prefix, posts, engine}
  }
  const views = async (posts: string, id: number) => Number((await db.knex(posts).where({id}).first('views')).views)

  it.skipIf(!up)('the first flush after the snapshot (no epoch marker in it): refused with exit code 7, nothing applied twice; the operator resumes', async () => {
    const {config, prefix, posts, engine} = await setup()
    let wb = await engine()
    await wb.table(posts).where(1).increment('views', 5)
    await redis.command('SAVE')
    expect((await wb.flush()).status).toBe('ok')
    expect(await views(posts, 1)).toBe(5)
    await wb.disconnect()
    await redis.crashAndRestart()

    wb = await engine()
    expect(await wb.ipc.get(`${prefix}:c:default:${posts}:1:views`)).toBe(5) // the flushed delta is back
    await expect(wb.flush()).rejects.toMatchObject({code: 'STORE_ROLLED_BACK', exitCode: 7})
    expect(await views(posts, 1)).toBe(5)
    // Flagged: every flush refuses at once (also from other processes), and status shows it.
    await expect(wb.flush()).rejects.toMatchObject({code: 'STORE_ROLLED_BACK', exitCode: 7})
    expect(await views(posts, 1)).toBe(5)
    const status = await readStatus(wb.ipc, prefix)
    expect(status.rollback).toMatchObject({connection: 'default', storeEpoch: null})
    expect(status.rollback!.reason).toMatch(/epoch marker is gone while it holds pending writes/)

    // The operator sees what may be applied again (the delta of 5, still pending: the refusal came
    // before anything was claimed), changes nothing…
    const parsed = parseConfig(config)
    const assessment = await assessRollback(parsed, wb.ipc)
    expect(assessment.rolledBack).toBe(true)
    expect(assessment.pending).toEqual([expect.objectContaining({connection: 'default', table: posts, counters: {keys: 1, rows: 1}, inflight: {batches: 0}})])
    await expect(wb.flush()).rejects.toMatchObject({code: 'STORE_ROLLED_BACK'})
    // …then decides to apply it (here: the database was not in fact ahead for this row's new writes).
    const resynced = await resyncAfterRollback(parsed, wb.ipc)
    expect(await wb.ipc.get(rollbackKey(prefix))).toBeNull()
    expect(await wb.ipc.get(epochKey(prefix))).toBe(resynced.epoch)
    expect((await assessRollback(parsed, wb.ipc)).rolledBack).toBe(false)
    expect((await wb.flush()).status).toBe('ok')
    expect(await views(posts, 1)).toBe(10)
    await wb.table(posts).where(1).increment('views', 1)
    expect((await wb.flush()).status).toBe('ok')
    expect(await views(posts, 1)).toBe(11)
  })

  for (const flushesAfterSave of [1, 2]) {
    it.skipIf(!up)(`a snapshot holding the epoch marker, ${flushesAfterSave} flush(es) after it: the fence the store issues again is refused`, async () => {
      const {config, prefix, posts, engine} = await setup()
      let wb = await engine()
      await wb.table(posts).where(2).increment('views', 1)
      expect((await wb.flush()).status).toBe('ok') // the store has its epoch marker from here on
      const epoch = await wb.ipc.get(epochKey(prefix))
      expect(typeof epoch).toBe('string')
      await wb.table(posts).where(1).increment('views', 5)
      await redis.command('SAVE')
      expect((await wb.flush()).status).toBe('ok')
      for (let i = 1; i < flushesAfterSave; i++) {
        await wb.table(posts).where(3).increment('views', 1)
        expect((await wb.flush()).status).toBe('ok')
      }
      expect(await views(posts, 1)).toBe(5)
      await wb.disconnect()
      await redis.crashAndRestart()

      wb = await engine()
      expect(await wb.ipc.get(epochKey(prefix))).toBe(epoch)
      const refused = await wb.flush().then(
        () => null,
        (error: {code?: string; exitCode?: number; record?: {reason: string}}) => error,
      )
      expect(refused).toMatchObject({code: 'STORE_ROLLED_BACK', exitCode: 7})
      expect(refused!.record!.reason).toMatch(flushesAfterSave === 1 ? /a second time/ : /behind the database's fence/)
      expect(await views(posts, 1)).toBe(5)
      expect(await views(posts, 3)).toBe(flushesAfterSave - 1)
      expect((await readStatus(wb.ipc, prefix)).rollback).toMatchObject({connection: 'default', storeEpoch: epoch})
      expect((await assessRollback(parseConfig(config), wb.ipc)).rolledBack).toBe(true)
    })
  }

  it.skipIf(!up)('a snapshot taken during a flush (lease taken, before a claim): the writes it holds again are refused, not applied twice', async () => {
    const {config, prefix, posts, engine} = await setup()
    let wb = await engine()
    await wb.table(posts).where(2).increment('views', 1)
    await wb.table(posts).where(3).update({title: 'before'})
    expect((await wb.flush()).status).toBe('ok') // the store has its epoch marker from here on
    await wb.table(posts).where(1).increment('views', 5)
    await wb.table(posts).where(3).update({title: 'new'})
    // The snapshot is taken while this flush holds its lease, before its claims (what BGSAVE can
    // catch on a busy store); the flush then commits everything.
    const steps = wb.steps as {claim: (...args: unknown[]) => Promise<unknown>}
    const claim = steps.claim.bind(steps)
    let saved = false
    steps.claim = async (...args) => {
      if (!saved) {
        saved = true
        await redis.command('SAVE')
      }
      return claim(...args)
    }
    expect((await wb.flush()).status).toBe('ok')
    expect(await views(posts, 1)).toBe(5)
    await wb.disconnect()
    await redis.crashAndRestart()
    await redis.command('DEL', `${prefix}:lock:flush`) // the snapshot's lease has expired

    wb = await engine()
    expect(await wb.ipc.get(`${prefix}:c:default:${posts}:1:views`)).toBe(5) // the flushed delta is back
    await db.knex(posts).where({id: 3}).update({title: 'newer'}) // written after the flush
    // status/doctor see it before any flush does: the store's counter is below the committed claim mark.
    expect((await assessRollback(parseConfig(config), wb.ipc)).databases[0]!.behind).toMatch(/claim mark/)
    const refused = await wb.flush().then(
      () => null,
      (error: {code?: string; exitCode?: number; record?: {reason: string}}) => error,
    )
    expect(refused).toMatchObject({code: 'STORE_ROLLED_BACK', exitCode: 7})
    expect(refused!.record!.reason).toMatch(/claim mark/)
    expect(await views(posts, 1)).toBe(5)
    expect((await db.knex(posts).where({id: 3}).first('title')).title).toBe('newer')
  })

  it.skipIf(!up)('a snapshot holding only a dead letter since retried and flushed: refused at the first flush, before empty flushes move the fence on', async () => {
    const {prefix, posts, engine} = await setup()
    let wb = await engine()
    await wb.table(posts).where(9).increment('views', 7) // no row 9: dead-lettered
    expect((await wb.flush()).status).toBe('partial')
    await redis.command('SAVE')
    await db.knex(posts).insert({id: 9, views: 0})
    expect((await wb.deadLetters.retry('default', posts, [])).retried).toHaveLength(1)
    expect((await wb.flush()).status).toBe('ok')
    expect(await views(posts, 9)).toBe(7)
    await wb.disconnect()
    await redis.crashAndRestart()
    await redis.command('DEL', `${prefix}:lock:flush`) // the snapshot's lease has expired

    wb = await engine()
    expect(await wb.deadLetters.list('default', posts)).toHaveLength(1) // back from the snapshot
    // Timed flushes find nothing to claim; each would have taken a lease, moving the counter past the database's.
    for (let i = 0; i < 4; i++) await expect(wb.flush()).rejects.toMatchObject({code: 'STORE_ROLLED_BACK', exitCode: 7})
    await wb.deadLetters.retry('default', posts, [])
    await expect(wb.flush()).rejects.toMatchObject({code: 'STORE_ROLLED_BACK', exitCode: 7})
    expect(await views(posts, 9)).toBe(7)
  })

  it.skipIf(!up)('a store without its epoch marker that holds only dead letters is a rollback suspect, not a new store', async () => {
    const {prefix, posts, engine} = await setup()
    const wb = await engine()
    await wb.table(posts).where(9).increment('views', 7)
    expect((await wb.flush()).status).toBe('partial')
    await wb.ipc.del(epochKey(prefix))
    await expect(wb.flush()).rejects.toMatchObject({code: 'STORE_ROLLED_BACK', exitCode: 7})
  })

  it.skipIf(!up)('a store emptied (or replaced by a new one) that holds nothing takes the database’s epoch: no false alarm', async () => {
    const {prefix, posts, engine} = await setup()
    const wb = await engine()
    await wb.table(posts).where(1).increment('views', 2)
    expect((await wb.flush()).status).toBe('ok')
    const epoch = await wb.ipc.get(epochKey(prefix))
    await deleteMatching(wb.ipc, `${prefix}:*`) // everything gone, fence counter included
    expect((await wb.flush()).status).toBe('ok') // nothing pending: adopts the epoch, moves its fence on
    expect(await wb.ipc.get(epochKey(prefix))).toBe(epoch)
    await wb.table(posts).where(1).increment('views', 3)
    expect((await wb.flush()).status).toBe('ok')
    expect(await views(posts, 1)).toBe(5)
  })
})

describe.each(['sqlite', 'postgres'] as DialectName[])('a memory-driver application restarted without its checkpoint, %s', (dialect) => {
  const up = dialectsUp[dialect]
  let db: TestDb
  beforeAll(async () => {
    if (up) db = await openTestDb(dialect)
  })
  afterAll(async () => {
    if (up) await db?.cleanup()
  })

  it.skipIf(!up)('starts its fence counter again below the database’s and flushes: not a rollback', async () => {
    const prefix = uniquePrefix('wbr')
    const posts = `${prefix}_m`
    await createPostsTable(db, posts, 3)
    const config = engineConfig('memory', db.url, prefix)
    for (let round = 1; round <= 3; round++) {
      const wb = await openEngine(config)
      await wb.table(posts).where(1).increment('views', round)
      await wb
        .table(posts)
        .where(2)
        .update({title: `t${round}`})
      const report = await wb.flush()
      expect(report.status).toBe('ok')
      await wb.close()
      rmSync(config.buffer!.checkpointPath!, {recursive: true, force: true})
      rmSync(`${config.buffer!.checkpointPath!}-lock`, {force: true})
    }
    expect(await db.knex(posts).whereIn('id', [1, 2]).orderBy('id').select('views', 'title')).toEqual([
      {views: 6, title: null},
      {views: 0, title: 't3'},
    ])
    await db.knex(FENCE_TABLE).where({name: prefix}).delete()
  })
})
