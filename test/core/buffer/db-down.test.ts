import {afterAll, describe, expect, it} from 'vitest'

import {createPostsTable, dialectsUp, openTestDb} from '../../support/db.js'
import {cleanRedisPrefix, driversUp, engineConfig, openEngine} from '../../support/engine.js'
import {uniquePrefix, urls} from '../../support/services.js'
import {TcpProxy} from '../../support/tcp-proxy.js'

describe.each(['memory', 'redis'] as const)('database down during a flush (%s driver, PostgreSQL)', (driver) => {
  const up = driversUp[driver] && dialectsUp.postgres
  const prefix = uniquePrefix()
  const cleanups: Array<() => Promise<void>> = []
  afterAll(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup()
  })

  it.skipIf(!up)('keeps everything; the next flush after it returns catches up exactly once', async () => {
    const db = await openTestDb('postgres')
    cleanups.push(() => db.cleanup())
    const posts = `${prefix}_posts`
    await createPostsTable(db, posts, 50)
    const target = new URL(urls.postgres)
    const proxy = new TcpProxy(target.hostname, Number(target.port || 5432))
    const port = await proxy.start()
    cleanups.push(() => proxy.stop())
    target.host = `127.0.0.1:${port}`
    const wb = await openEngine(engineConfig(driver, target.toString(), prefix), {retries: 2})
    cleanups.push(async () => {
      await wb.close()
      if (driver === 'redis') await cleanRedisPrefix(prefix)
    })

    for (let id = 1; id <= 50; id++) await wb.table(posts).where(id).increment('views', id)
    await proxy.stop()
    const down = await wb.flush()
    expect(down.status).toBe('partial')
    expect(down.tables).toEqual([expect.objectContaining({table: posts, counters: 0, batches: 1})])
    expect(down.tables[0].error).toBeTruthy()
    expect(await wb.ipc.scard(`${prefix}:idx:inflight`)).toBe(1)
    // Writes go on while the database is away.
    for (let id = 1; id <= 50; id++) await wb.table(posts).where(id).increment('views', 1)

    await proxy.start(port)
    const back = await wb.flush()
    expect(back.status).toBe('ok')
    expect(back.tables).toEqual([expect.objectContaining({table: posts, counters: 100, batches: 2, recovered: 1})])
    const rows = await db.knex(posts).select('id', 'views').orderBy('id')
    expect(rows.map((r) => Number(r.views))).toEqual(Array.from({length: 50}, (_, i) => i + 2))
    expect(await wb.ipc.scard(`${prefix}:idx:inflight`)).toBe(0)
  })
})
