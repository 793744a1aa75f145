import {afterAll, describe, expect, it} from 'vitest'

import {readStatus} from '../../../src/core/inspect/status.js'
import {renderStatus} from '../../../src/ui/status-view.js'
import {createPostsTable, dialectsUp, openTestDb, type DialectName} from '../../support/db.js'
import {engineConfig, openEngine} from '../../support/engine.js'
import {uniquePrefix} from '../../support/services.js'

/**
 * A row another session keeps locked: the flush transaction gives up after
 * `buffer.statementTimeoutMs`, the table is reported blocked (flush report, status) and its
 * batch waits in flight, while another table of the same connection is flushed; once the lock is
 * gone the next flush applies the batch exactly once and the table is no longer blocked.
 */
describe.each(['postgres', 'mysql'] as DialectName[])('a locked row on %s', (dialect) => {
  const cleanups: Array<() => Promise<void>> = []
  afterAll(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => {})
  })

  it.skipIf(!dialectsUp[dialect])('blocks only its table, is shown as blocked, and is applied once after the lock goes', async () => {
    const db = await openTestDb(dialect)
    cleanups.push(() => db.cleanup())
    const stem = uniquePrefix('wbk')
    const [locked, free] = [`${stem}_locked`, `${stem}_free`]
    await createPostsTable(db, locked, 3)
    await createPostsTable(db, free, 3)
    const config = engineConfig('memory', db.url)
    config.buffer = {...config.buffer, statementTimeoutMs: 300}
    const wb = await openEngine(config, {retries: 1})
    cleanups.push(async () => {
      await wb.close()
    })

    await wb.table(locked).where(2).increment('views', 5)
    await wb.table(free).where(2).increment('views', 7)

    // Another session holds row 2 of `locked` for the whole first flush.
    const trx = await db.knex.transaction()
    await trx(locked).where({id: 2}).forUpdate().select('id')
    let first
    try {
      first = await wb.flush()
    } finally {
      await trx.rollback()
    }
    const lockedReport = first.tables.find((t) => t.table === locked)
    expect(first.status).toBe('partial')
    expect(lockedReport).toMatchObject({counters: 0, blocked: true})
    expect(lockedReport?.error).toMatch(/lock|timeout|statement/i)
    expect(first.tables.find((t) => t.table === free)).toMatchObject({counters: 1})
    expect(first.tables.find((t) => t.table === free)?.error).toBeUndefined()
    expect(Number((await db.knex(free).where({id: 2}).first('views')).views)).toBe(7)

    const status = await readStatus(wb.ipc, wb.prefix)
    const blockedRow = status.tables.find((t) => t.table === locked)
    expect(blockedRow).toMatchObject({inflight: {batches: 1}, blocked: {reason: lockedReport?.error, at: expect.any(Number)}})
    expect(status.tables.find((t) => t.table === free)?.blocked).toBeUndefined()
    const plain = {color: false, red: (s: string) => s, green: (s: string) => s, bold: (s: string) => s, dim: (s: string) => s, yellow: (s: string) => s}
    expect(renderStatus(status, undefined, plain, false)).toContain(`blocked: default:${locked} since `)

    const second = await wb.flush()
    expect(second.status).toBe('ok')
    expect(Number((await db.knex(locked).where({id: 2}).first('views')).views)).toBe(5)
    const after = await readStatus(wb.ipc, wb.prefix)
    expect(after.tables.find((t) => t.table === locked)).toBeUndefined()
    expect(await wb.ipc.hgetall(`${wb.prefix}:blocked`)).toBeNull()
  })
})
