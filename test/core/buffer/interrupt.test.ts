import {afterAll, describe, expect, it} from 'vitest'

import {FlushInterrupted} from '../../../src/core/buffer/interrupted.js'
import {createPostsTable, dialectsUp, openTestDb, type DialectName, type TestDb} from '../../support/db.js'
import {cleanRedisPrefix, driversUp, engineConfig, openEngine, type DriverName} from '../../support/engine.js'
import {until} from '../../support/spawn.js'

/** The flush's UPDATE of `table` is running (it cannot finish while the test holds one of its rows). */
async function waitingOn(db: TestDb, table: string): Promise<boolean> {
  if (db.dialect === 'postgres') {
    const result = await db.knex.raw(`select count(*)::int as n from pg_stat_activity where wait_event_type = 'Lock' and query like ?`, [`%${table}%`])
    return result.rows[0].n > 0
  }
  // MariaDB lists a waiting transaction in innodb_trx only seconds later: the processlist shows the statement at once.
  const [rows] = await db.knex.raw(`select count(*) as n from information_schema.processlist where command = 'Query' and info like ?`, [`UPDATE \`${table}\`%`])
  return Number(rows[0].n) > 0
}

/**
 * A flush's AbortSignal (what `wbc flush` wires SIGINT/SIGTERM to): the statement waiting on a
 * locked row is cancelled on the server and its transaction rolled back, the lease is released,
 * FlushInterrupted names what stays in flight, and the next flush applies it exactly once.
 */
describe.each([
  ['memory', 'postgres'],
  ['redis', 'mysql'],
] as Array<[DriverName, DialectName]>)('aborting a flush (%s driver, %s)', (driver, dialect) => {
  const cleanups: Array<() => Promise<void>> = []
  afterAll(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => {})
  })

  it.skipIf(!driversUp[driver] || !dialectsUp[dialect])('cancels the waiting statement, rolls back, frees the lease; the next flush applies once', async () => {
    const db = await openTestDb(dialect)
    cleanups.push(() => db.cleanup())
    const config = engineConfig(driver, db.url)
    const prefix = config.ipc!.prefix!
    const table = `${prefix}_posts`
    await createPostsTable(db, table, 3)
    config.buffer = {...config.buffer, statementTimeoutMs: 120_000}
    const wb = await openEngine(config)
    cleanups.push(async () => {
      await wb.close()
      if (driver === 'redis') await cleanRedisPrefix(prefix)
    })
    await wb.table(table).where(1).increment('views', 3)
    await wb.table(table).where(2).increment('views', 4)

    const trx = await db.knex.transaction()
    const controller = new AbortController()
    let outcome: unknown
    try {
      await trx(table).where({id: 1}).forUpdate().select('id')
      const flushing = wb.flush({signal: controller.signal}).then(
        (report) => report,
        (error: unknown) => error,
      )
      await until(() => waitingOn(db, table), 20_000, 'the flush to wait on the locked row')
      controller.abort('SIGTERM')
      outcome = await flushing
      // Released while the other session still holds its row, and the flush's statement is gone
      // (polled: the server may list a killed statement a moment longer).
      expect(await wb.ipc.inspectLock(`${prefix}:lock:flush`)).toBeNull()
      await until(async () => !(await waitingOn(db, table)), 10_000, 'the cancelled statement to be gone')
    } finally {
      await trx.rollback()
    }
    expect(outcome).toBeInstanceOf(FlushInterrupted)
    const interrupted = outcome as FlushInterrupted
    expect(interrupted.exitCode).toBe(143)
    expect(interrupted.leftInFlight).toEqual([{connection: 'default', table, batches: 1}])
    expect(interrupted.report).toMatchObject({status: 'partial', reason: 'interrupted', tables: [{table, counters: 0, batches: 1}]})
    expect(interrupted.report?.tables[0].error).toBeUndefined()
    expect((await db.knex(table).select('views').orderBy('id')).map((r) => Number(r.views))).toEqual([0, 0, 0])

    const next = await wb.flush()
    expect(next).toMatchObject({status: 'ok', tables: [{table, counters: 2, recovered: 1}]})
    expect((await db.knex(table).select('views').orderBy('id')).map((r) => Number(r.views))).toEqual([3, 4, 0])
    expect((await wb.flush()).tables).toEqual([])
  })

  it.skipIf(!driversUp[driver] || !dialectsUp[dialect])('an already aborted signal stops before the lease: nothing claimed', async () => {
    const db = await openTestDb(dialect)
    cleanups.push(() => db.cleanup())
    const config = engineConfig(driver, db.url)
    const prefix = config.ipc!.prefix!
    const table = `${prefix}_posts`
    await createPostsTable(db, table, 1)
    const wb = await openEngine(config)
    cleanups.push(async () => {
      await wb.close()
      if (driver === 'redis') await cleanRedisPrefix(prefix)
    })
    await wb.table(table).where(1).increment('views', 2)
    const controller = new AbortController()
    controller.abort('SIGINT')
    const error = await wb.flush({signal: controller.signal}).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(FlushInterrupted)
    expect((error as FlushInterrupted).exitCode).toBe(130)
    expect((error as FlushInterrupted).report).toBeNull()
    expect(await wb.ipc.scard(`${prefix}:idx:inflight`)).toBe(0)
    expect(await wb.ipc.scard(`${prefix}:idx:counters`)).toBe(1)
  })
})
