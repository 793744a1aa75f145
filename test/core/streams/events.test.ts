import {describe, expect, it} from 'vitest'

import {createPostsTable, openTestDb} from '../../support/db.js'
import {engineConfig, openEngine} from '../../support/engine.js'
import {uniquePrefix} from '../../support/services.js'

describe('the event stream', () => {
  it('records flushes and stays under its default bound (1,000) after 10,000 flushes', async () => {
    const db = await openTestDb('sqlite')
    const prefix = uniquePrefix()
    await createPostsTable(db, 'posts', 10)
    const wb = await openEngine(engineConfig('memory', db.url, prefix))
    try {
      for (let i = 0; i < 10_000; i++) {
        await wb
          .table('posts')
          .where((i % 10) + 1)
          .increment('views')
        const report = await wb.flush()
        expect(report.status).toBe('ok')
      }
      expect(await wb.ipc.llen(`${prefix}:events`)).toBe(1000)
      const [last] = (await wb.ipc.lrange(`${prefix}:events`, -1, -1)) as Array<Record<string, unknown>>
      expect(last).toMatchObject({type: 'flush', status: 'ok', tables: 1, rows: 1, deadLettered: 0, errors: []})
      // A flush with nothing to do adds nothing.
      await wb.flush()
      expect(((await wb.ipc.lrange(`${prefix}:events`, -1, -1)) as Array<Record<string, unknown>>)[0].at).toBe(last.at)
      expect(Number((await db.knex('posts').sum({n: 'views'}))[0].n)).toBe(10_000)
    } finally {
      await wb.close()
      await db.cleanup()
    }
  }, 180_000)
})
