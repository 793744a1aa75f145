import {describe, expect, it} from 'vitest'

import type {WriteBuffer} from '../../../src/core/buffer/write-buffer.js'
import type {WbcConfigInput} from '../../../src/core/config/schema.js'
import {createLogTable, createPostsTable, dialectsUp, type DialectName, type TestDb} from '../../support/db.js'
import {driversUp, redisEngineFor} from '../../support/engine.js'
import {uniquePrefix} from '../../support/services.js'
import {sleep, startFixture, until} from '../../support/spawn.js'

/**
 * Redis keeps the state when a flusher dies, so any process can finish its work: a flusher is
 * killed (SIGKILL) or paused at a named point, another one flushes, and the database must hold
 * every delta exactly once.
 */
describe.each(['postgres', 'mysql', 'sqlite'] as DialectName[])('crash safety on redis + %s', (dialect) => {
  const up = driversUp.redis && dialectsUp[dialect]
  const prefix = uniquePrefix()
  let db: TestDb
  let config: WbcConfigInput
  let wb: WriteBuffer
  let round = 0

  redisEngineFor(dialect, up, prefix, (opened) => ({db, config, wb} = opened))

  /** Buffers 2,000 increments over 100 rows, 20 updates and 300 inserts into fresh tables. */
  async function buffered(): Promise<{posts: string; log: string; expected: Map<number, number>}> {
    round++
    const posts = `${prefix}_p${round}`
    const log = `${prefix}_l${round}`
    await createPostsTable(db, posts, 100)
    await createLogTable(db, log)
    const expected = new Map<number, number>()
    for (let i = 0; i < 2000; i += 200) {
      await Promise.all(
        Array.from({length: 200}, (_, j) => {
          const id = ((i + j) % 100) + 1
          const delta = ((i + j) % 3) + 1
          expected.set(id, (expected.get(id) ?? 0) + delta)
          return wb.table(posts).where(id).increment('views', delta)
        }),
      )
    }
    for (let id = 1; id <= 20; id++)
      await wb
        .table(posts)
        .where(id)
        .update({title: `t${id}`})
    await wb.table(log).insert(Array.from({length: 300}, (_, i) => ({user_id: i, action: 'a', seq: i})))
    return {posts, log, expected}
  }

  async function assertExact(posts: string, log: string, expected: Map<number, number>): Promise<void> {
    const rows = await db.knex(posts).select('id', 'views', 'title').orderBy('id')
    expect(rows.filter((r) => Number(r.views) !== expected.get(Number(r.id)))).toEqual([])
    expect(rows.filter((r) => Number(r.id) <= 20 && r.title !== `t${r.id}`)).toEqual([])
    const seqs = (await db.knex(log).select('seq').orderBy('seq')).map((r) => Number(r.seq))
    expect(seqs).toEqual(Array.from({length: 300}, (_, i) => i))
    expect(await wb.ipc.scard(`${prefix}:idx:inflight`)).toBe(0)
  }

  const flushInChild = (failpoint: string) => startFixture('flush-once.ts', {WBC_TEST_CONFIG: JSON.stringify(config), WBC_FAILPOINT: failpoint, LEASE_TTL_MS: '1000'})

  for (const failpoint of ['after-claim', 'mid-transaction', 'after-commit'] as const) {
    it.skipIf(!up)(`a flusher killed ${failpoint.replace('-', ' ')} loses nothing and applies nothing twice`, async () => {
      const {posts, log, expected} = await buffered()
      const {exit} = flushInChild(failpoint)
      const result = await exit
      expect(result.signal).toBe('SIGKILL')
      // What the dead flusher left: its first batch (the updates) in flight, committed or not as the point says.
      expect(await wb.ipc.scard(`${prefix}:idx:inflight`)).toBe(1)
      const titled = await db.knex(posts).whereNotNull('title').count({n: '*'})
      expect(Number(titled[0].n)).toBe(failpoint === 'after-commit' ? 20 : 0)
      expect(Number((await db.knex(posts).sum({n: 'views'}))[0].n ?? 0)).toBe(0)
      await sleep(1100) // The dead holder's lease runs out.
      const report = await wb.flush()
      expect(report.status).toBe('ok')
      expect(report.tables.reduce((n, t) => n + t.recovered, 0)).toBe(1)
      await assertExact(posts, log, expected)
      // Recovering again finds nothing to do.
      expect((await wb.flush()).tables).toEqual([])
      await assertExact(posts, log, expected)
    })
  }

  it.skipIf(!up)('a flusher paused past its lease cannot commit after another took over: fenced', async () => {
    const {posts, log, expected} = await buffered()
    const {child, exit} = flushInChild('after-claim:stop')
    await until(async () => (await wb.ipc.scard(`${prefix}:idx:inflight`)) === 1, 15_000, 'the paused flusher to claim')
    await sleep(1200) // Its lease expires while it is stopped.
    const takeover = await wb.flush()
    expect(takeover.status).toBe('ok')
    expect(takeover.fence).toBeGreaterThan(0)
    await assertExact(posts, log, expected)
    child.kill('SIGCONT')
    const result = await exit
    expect(result.code).toBe(0)
    const stale = JSON.parse(result.stdout.trim().split('\n')[0])
    expect(stale.status).toBe('partial')
    expect(stale.reason).toBe('lease-lost')
    expect(stale.fence).toBeLessThan(takeover.fence!)
    await assertExact(posts, log, expected)
  })
})
