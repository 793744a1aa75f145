import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {createIpc} from '../../../src/core/ipc/create.js'
import {parseConfig} from '../../../src/core/config/load.js'
import {createPostsTable, openTestDb, type TestDb} from '../../support/db.js'
import {engineConfig, openEngine} from '../../support/engine.js'
import {stepsFor} from '../../../src/core/buffer/steps/index.js'

/**
 * A memory-driver application that shuts down while another process keeps writing over the
 * socket: every write it acknowledged must survive (flushed, or in the last checkpoint). Intake
 * has to stop before the last checkpoint is taken.
 */
describe('memory application shutdown under socket writes', () => {
  let db: TestDb
  beforeAll(async () => {
    db = await openTestDb('sqlite')
    await createPostsTable(db, 'posts', 10)
  })
  afterAll(() => db.cleanup())

  it('every acknowledged increment is in the database or the checkpoint afterwards', async () => {
    const config = engineConfig('memory', db.url)
    const prefix = (config.ipc as {prefix: string}).prefix
    const app = await openEngine(config, {serveSocket: true})
    const client = await createIpc(parseConfig(config).ipc, {role: 'socket'})
    let acknowledged = 0
    let unknown = 0
    let writing = true
    const writers = Array.from({length: 8}, async () => {
      while (writing) {
        try {
          await stepsFor(client).increment(prefix, 'default:posts:1:views', 1)
          acknowledged++
        } catch {
          unknown++
          return
        }
      }
    })
    await new Promise((resolve) => setTimeout(resolve, 200))
    await app.close() // Last flush, then the last checkpoint, while the client keeps writing.
    writing = false
    await Promise.all(writers)
    await client.close()

    // What the database holds plus what the restarted application recovers from the checkpoint.
    const restarted = await openEngine(config)
    const pending = Number((await restarted.ipc.get(`${prefix}:c:default:posts:1:views`)) ?? 0)
    await restarted.disconnect()
    const flushed = Number((await db.knex('posts').where({id: 1}).first('views')).views)
    expect(acknowledged).toBeGreaterThan(100)
    expect(flushed + pending).toBeGreaterThanOrEqual(acknowledged)
    expect(flushed + pending).toBeLessThanOrEqual(acknowledged + unknown)
  })
})
