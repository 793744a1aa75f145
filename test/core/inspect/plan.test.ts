import {mkdtempSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import knexFactory from 'knex'
import {describe, expect, it} from 'vitest'

import {createWriteBuffer} from '../../../src/core/buffer/write-buffer.js'
import {resolveConnection} from '../../../src/core/config/connections.js'
import {parseConfig} from '../../../src/core/config/load.js'
import {planFlush} from '../../../src/core/inspect/plan.js'
import {createIpc} from '../../../src/core/ipc/create.js'
import {createLogTable, createPostsTable, dialectsUp, openTestDb, type DialectName} from '../../support/db.js'
import {uniquePrefix} from '../../support/services.js'

/** `flush --dry-run` lists exactly the statements the flush then sends, in order, with the same text. */
describe.each(['sqlite', 'postgres', 'mysql'] as DialectName[])('flush plan on %s', (dialect) => {
  it.skipIf(!dialectsUp[dialect])('the planned SQL is the SQL the flush runs', async () => {
    const db = await openTestDb(dialect)
    const prefix = uniquePrefix()
    const [posts, log] = [`${prefix}_posts`, `${prefix}_log`]
    const config = parseConfig({ipc: {driver: 'memory', prefix, socket: join(mkdtempSync(join(tmpdir(), 'wbc-plan-')), 'wbc.sock')}, connections: {default: db.url}})
    const ipc = await createIpc(config.ipc, {serveSocket: false})
    // The flush runs on its own knex, whose every query is recorded.
    const knex = knexFactory(resolveConnection('default', db.url).knex)
    const sent: string[] = []
    knex.on('query', (query: {sql: string}) => sent.push(query.sql))
    try {
      await createPostsTable(db, posts, 3)
      await createLogTable(db, log)
      const wb = await createWriteBuffer({ipc, connections: {default: knex}, prefix}, {timers: false})
      await wb.table(posts).where(1).increment('views', 2)
      await wb.table(posts).where('1').increment('views', 3)
      // Row 1 again, spelled '01': the counters must be aggregated per target row.
      await wb.table(posts).where('01').increment('views', 4)
      await wb.table(posts).where(2).increment('likes')
      await wb.table(posts).where(3).update({title: 'three'})
      await wb.table(posts).where(99).increment('views')
      await wb.table(log).insert([
        {user_id: 1, action: 'a', seq: 1},
        {user_id: 2, action: 'b', seq: 2},
      ])

      const plan = await planFlush(ipc, config, {})
      expect(plan.tables.map((t) => [t.table, t.error])).toEqual([
        [log, undefined],
        [posts, undefined],
      ])
      // Checks for missing rows run only when the UPDATEs changed fewer rows than there are entries.
      const planned = plan.tables.map((t) => t.statements.filter((s) => !s.conditional).flatMap((s) => Array.from({length: s.times}, () => s.sql)))
      expect(planned.map((p) => p.length > 0)).toEqual([true, true])

      const native = (sql: string) => sql.replace(/\$\d+/g, '?')
      const report = await wb.flush()
      expect(report.tables.find((t) => t.table === posts)?.deadLettered).toBe(1)
      // Every planned statement of a table was sent, in the planned order (the flush adds its own
      // bookkeeping and, after the missing row, the retries of the split ranges).
      for (const table of planned) {
        let at = 0
        for (const sql of table) {
          at = sent.findIndex((s, i) => i >= at && native(s) === sql)
          expect(at).toBeGreaterThanOrEqual(0)
          at++
        }
      }
      // The plan shows the real types: PostgreSQL casts, and the per-row aggregation.
      const counter = plan.tables.find((t) => t.table === posts)!.statements.find((s) => s.kind === 'counter')!
      expect(counter.sql).toContain('GROUP BY')
      // Row 99 does not exist, so the check after the counters ran, with the planned text.
      const check = plan.tables
        .find((t) => t.table === posts)!
        .statements.filter((s) => s.kind === 'check')
        .at(-1)!
      expect(check).toMatchObject({kind: 'check', conditional: true})
      expect(sent.map(native)).toContain(check.sql)
      // PostgreSQL binds one typed array per column.
      if (dialect === 'postgres') expect(counter.sql).toContain('unnest(?::integer[], ?::numeric[], ?::numeric[])')
      // The update's single key cannot share a row: the plain path, no ranking per row.
      const update = plan.tables.find((t) => t.table === posts)!.statements.find((s) => s.kind === 'update')!
      expect(update.sql).not.toMatch(/OVER \(|GROUP BY/)
      expect(Number((await db.knex(posts).where({id: 1}).first('views')).views)).toBe(9)
      await wb.disconnect()
    } finally {
      await ipc.close()
      await knex.destroy()
      await db.cleanup()
    }
  })
})
