import {readFileSync, mkdtempSync, writeFileSync} from 'node:fs'
import {hostname, tmpdir} from 'node:os'
import {join} from 'node:path'

import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import type {WriteBuffer} from '../../src/core/buffer/write-buffer.js'
import {createPostsTable, dialectsUp, openTestDb, type TestDb} from '../support/db.js'
import {cleanRedisPrefix, driversUp, openEngine} from '../support/engine.js'
import {runCli, startCli} from '../support/cli.js'
import {startFixture, until} from '../support/spawn.js'
import {uniquePrefix, urls} from '../support/services.js'

const up = driversUp.redis && dialectsUp.postgres

/**
 * Interrupting `wbc flush` (SIGINT, SIGTERM) leaves no dead holder: the open transaction is rolled
 * back, the lease is free at once, what stays in flight is named and the next flush applies it
 * once. A holder killed outright on this host is taken over at once, and waiting for a live one
 * says so once and ends with advice that can help.
 */
describe.skipIf(!up)('interrupting and waiting for a flush (redis + postgres)', () => {
  const prefix = uniquePrefix('wbi')
  const posts = `${prefix}_posts`
  const lockKey = `${prefix}:lock:flush`
  const config = {
    ipc: {driver: 'redis', redis: urls.redis, prefix},
    connections: {default: urls.postgres},
    // Long enough that a flush waits on a locked row until it is interrupted.
    buffer: {statementTimeoutMs: 120_000},
  }
  let db: TestDb
  let wb: WriteBuffer
  let cwd: string
  const wbc = (...args: string[]) => runCli(args, {cwd})
  const views = async () => (await db.knex(posts).select('id', 'views').orderBy('id')).map((r) => Number(r.views))
  const locks = async () => JSON.parse((await wbc('locks', '--json')).stdout).locks

  beforeAll(async () => {
    db = await openTestDb('postgres')
    await createPostsTable(db, posts, 4)
    cwd = mkdtempSync(join(tmpdir(), 'wbc-int-'))
    writeFileSync(join(cwd, 'wbc.config.json'), JSON.stringify(config))
    wb = await openEngine(config as never)
  })
  afterAll(async () => {
    await wb?.close()
    await db?.cleanup()
    await cleanRedisPrefix(prefix)
  })

  it('SIGINT while the flush waits on a row another session holds: exit 130, rolled back, lease free, named in flight, applied once next time', async () => {
    await wb.table(posts).where(2).increment('views', 5)
    await wb.table(posts).where(3).increment('views', 1)
    const trx = await db.knex.transaction()
    let flushing: ReturnType<typeof startCli> | undefined
    try {
      await trx(posts).where({id: 2}).forUpdate().select('id')
      flushing = startCli(['flush'], {cwd})
      // The flush's UPDATE waits for the row lock.
      await until(
        async () => {
          const rows = await db.knex.raw(`select count(*)::int as n from pg_stat_activity where wait_event_type = 'Lock' and query like ?`, [`%${posts}%`])
          return rows.rows[0].n > 0
        },
        20_000,
        'the flush to wait on the locked row',
      )
      flushing.child.kill('SIGINT')
      const result = await flushing.exit
      expect(result.code).toBe(130)
      expect(result.stderr).toContain('flush interrupted by SIGINT')
      expect(result.stderr).toContain(`1 batch was left in flight: default:${posts} (1)`)
      expect(result.stderr).toContain('`wbc recover`')
      // The lease is free at once, while the other session still holds its row.
      expect(await locks()).toEqual([])
      expect(await views()).toEqual([0, 0, 0, 0])
    } finally {
      await trx.rollback()
      if (flushing?.child.exitCode === null) flushing.child.kill('SIGKILL')
    }
    expect(await views()).toEqual([0, 0, 0, 0])
    const status = JSON.parse((await wbc('status', '--json')).stdout)
    expect(status.tables.find((t: {table: string}) => t.table === posts).inflight).toEqual({batches: 1})

    const next = await wbc('flush', '--json')
    expect(next.code).toBe(0)
    expect(JSON.parse(next.stdout).tables).toEqual([{connection: 'default', table: posts, counters: 2, updates: 0, inserts: 0, deadLettered: 0, recovered: 1}])
    expect(await views()).toEqual([0, 5, 1, 0])
    expect(JSON.parse((await wbc('flush', '--json')).stdout).tables).toEqual([])
    expect(await views()).toEqual([0, 5, 1, 0])
  })

  it('SIGTERM inside the transaction (the flusher stopped mid-way): exit 143, nothing committed, lease free, applied once next time', async () => {
    await wb.table(posts).where(1).increment('views', 7)
    await wb.table(posts).where(4).update({title: 'four'})
    const flushing = startCli(['flush'], {cwd, env: {WBC_FAILPOINT: 'mid-transaction:stop'}})
    const pid = flushing.child.pid!
    await until(() => readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.startsWith('T') ?? false, 20_000, 'the flusher to stop mid-transaction')
    flushing.child.kill('SIGTERM')
    flushing.child.kill('SIGCONT')
    const result = await flushing.exit
    expect(result.code).toBe(143)
    expect(result.stderr).toContain('flush interrupted by SIGTERM')
    expect(result.stderr).toMatch(/left in flight: default:\S+ \(1\)/)
    expect(await locks()).toEqual([])
    expect(await views()).toEqual([0, 5, 1, 0])
    expect((await db.knex(posts).where({id: 4}).first('title')).title).toBeNull()

    const next = await wbc('flush', '--json')
    expect(next.code).toBe(0)
    const tables = JSON.parse(next.stdout).tables
    expect(tables).toEqual([{connection: 'default', table: posts, counters: 1, updates: 1, inserts: 0, deadLettered: 0, recovered: 1}])
    expect(await views()).toEqual([7, 5, 1, 0])
    expect((await db.knex(posts).where({id: 4}).first('title')).title).toBe('four')
  })

  it('a holder SIGKILLed on this host is taken over at once (no TTL wait); totals exact', async () => {
    await wb.table(posts).where(3).increment('views', 10)
    await wb.table(posts).where(2).increment('views', 2)
    // A flusher that dies right after its claim: its lease (60 s) names a pid that is gone.
    const dead = startFixture('flush-once.ts', {WBC_TEST_CONFIG: JSON.stringify(config), WBC_FAILPOINT: 'after-claim', LEASE_TTL_MS: '60000'})
    const exit = await dead.exit
    expect(exit.signal).toBe('SIGKILL')
    const held = await locks()
    expect(held).toEqual([expect.objectContaining({key: lockKey, host: hostname(), pid: dead.child.pid, alive: false})])
    expect(held[0].ttlMs).toBeGreaterThan(10_000)

    const flushed = await wbc('flush', '--json')
    expect(flushed.code).toBe(0)
    const result = JSON.parse(flushed.stdout)
    expect(result.tookOverFrom).toMatchObject({host: hostname(), pid: dead.child.pid, fence: held[0].fence})
    expect(result.tables).toEqual([{connection: 'default', table: posts, counters: 2, updates: 0, inserts: 0, deadLettered: 0, recovered: 1}])
    expect(await views()).toEqual([7, 7, 11, 0])
    expect(await locks()).toEqual([])
    const events = JSON.parse((await wbc('streams', 'tail', 'events', '--json')).stdout)
    expect(JSON.stringify(events)).toContain(`"holder":"${hostname()}:${dead.child.pid}"`)
  })

  it('flush --wait 3s, piped, says once that it waits and ends without advising --wait; without --wait it does advise it', async () => {
    await wb.table(posts).where(1).increment('views')
    const lease = await wb.ipc.lock(lockKey, 60)
    expect(lease).not.toBeNull()
    try {
      const waited = await wbc('flush', '--wait', '3s')
      expect(waited.code).toBe(4)
      const lines = waited.stderr.trim().split('\n')
      expect(lines).toHaveLength(2)
      expect(lines[0].startsWith('waiting up to ')).toBe(true)
      expect(lines[0].endsWith(` for the flush lease held by ${hostname()} pid ${process.pid}…`)).toBe(true)
      expect(lines[1]).toContain(`the flush lease is still held by ${hostname()} pid ${process.pid} after waiting 3s; nothing was flushed.`)
      expect(waited.stderr).not.toContain('--wait')
      expect(waited.stderr).not.toContain('\r')

      const once = await wbc('flush')
      expect(once.code).toBe(4)
      expect(once.stderr.trim().split('\n')).toHaveLength(1)
      expect(once.stderr).toContain('use --wait')
      expect(once.stderr).not.toContain('lease expires')

      const recovering = await wbc('recover', '--wait', '1s')
      expect(recovering.code).toBe(4)
      expect(recovering.stderr).toContain('after waiting 1s; nothing was recovered.')
      expect(recovering.stderr).not.toContain('--wait')
    } finally {
      await wb.ipc.unlock(lockKey, lease!.token)
    }
    expect(await views()).toEqual([7, 7, 11, 0])
  })

  it('a holder on another host is waited for by its TTL, never called dead', async () => {
    await wb.ipc.set(lockKey, {token: 'elsewhere-token', host: `not-${hostname()}`, pid: 1, acquiredAt: Date.now(), fence: 1, ttlMs: 60_000}, 60)
    try {
      const held = await wbc('flush')
      expect(held.code).toBe(4)
      expect(held.stderr).toContain(`held by not-${hostname()} pid 1`)
      expect(held.stderr).toContain('If that process is gone, its lease expires in')
      expect(held.stderr).toContain('use --wait')
      expect((await wb.ipc.inspectLock(lockKey))?.token).toBe('elsewhere-token')
    } finally {
      await wb.ipc.del(lockKey)
    }
    const flushed = await wbc('flush', '--json')
    expect(flushed.code).toBe(0)
    expect(await views()).toEqual([8, 7, 11, 0])
  })
})
