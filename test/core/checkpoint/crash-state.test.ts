import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import type {WbcConfigInput} from '../../../src/core/config/schema.js'
import {createLogTable, createPostsTable, openTestDb, type TestDb} from '../../support/db.js'
import {engineConfig, openEngine} from '../../support/engine.js'
import {readKeptState} from '../../support/kept-state.js'
import {uniquePrefix} from '../../support/services.js'
import {startFixture} from '../../support/spawn.js'

/**
 * What the memory checkpoint keeps besides pending writes, across real restarts: compaction is
 * mirrored (no row inserted twice after SIGKILL); dead letters, quarantine, events, the last flush
 * record and the fence counter survive a graceful restart, and those that must not be lost survive
 * a SIGKILL right after the flush that produced them.
 */
describe('memory checkpoint across restarts: compaction and wbc state', () => {
  let db: TestDb
  let round = 0

  beforeAll(async () => {
    db = await openTestDb('sqlite')
  })
  afterAll(async () => {
    await db.cleanup()
  })

  async function fresh(): Promise<{config: WbcConfigInput; prefix: string; posts: string; log: string; env: Record<string, string>}> {
    round++
    const prefix = uniquePrefix()
    const posts = `cs_p${round}`
    const log = `cs_l${round}`
    await createPostsTable(db, posts, 10)
    await createLogTable(db, log)
    const config = engineConfig('memory', db.url, prefix)
    // No periodic checkpoint during a scenario: only the ones it asks for, and what is mirrored.
    config.buffer = {...config.buffer, checkpointInterval: 3_600_000}
    return {config, prefix, posts, log, env: {WBC_TEST_CONFIG: JSON.stringify(config), POSTS: posts, LOG: log}}
  }

  const lines = (stdout: string) =>
    stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line))

  it('a compacted insert queue, flushed, then SIGKILL: the restart inserts nothing again', async () => {
    const {log, env} = await fresh()
    const crashed = await startFixture('memory-app.ts', {...env, MODE: 'compact'}).exit
    expect(crashed.signal).toBe('SIGKILL')
    expect(lines(crashed.stdout)[0].tables).toEqual([expect.objectContaining({table: log, inserts: 4})])
    const seqs = async () => (await db.knex(log).select('seq').orderBy('id')).map((r) => Number(r.seq))
    expect(await seqs()).toEqual([2, 4, 5, 6])

    const again = await startFixture('memory-app.ts', {...env, WORKLOAD: '0', MODE: 'flush'}).exit
    expect(again.code).toBe(0)
    // The batch may still be in flight (its ack was not yet in the file): it is finished through the ledger, inserting nothing.
    const tables = JSON.parse(again.stdout).tables as Array<{inserts: number; recovered: number}>
    expect(tables.reduce((n, t) => n + t.inserts, 0)).toBe(0)
    expect(await seqs()).toEqual([2, 4, 5, 6])
  })

  it('dead letters, quarantine, events, last flush and fence survive a graceful restart exactly', async () => {
    const {config, prefix, posts, env} = await fresh()
    const run = await startFixture('memory-app.ts', {...env, MODE: 'state', END: 'graceful'}).exit
    expect(run.code).toBe(0)
    const [report, before] = lines(run.stdout)
    expect(report.status).toBe('partial')
    expect(before.deadLetterTables).toEqual([`default:${posts}`])
    expect(Object.keys(before.badIndex)).toEqual([`c:default:${posts}:2:views`])
    expect(before.fence).toBe(1)
    expect(before.events.length).toBeGreaterThan(0)
    expect(before.lastflush).toMatchObject({status: 'partial'})

    const wb = await openEngine(config)
    try {
      expect(await readKeptState(wb.ipc, prefix)).toEqual(before)
      await wb.flush()
      expect(await wb.ipc.get(`${prefix}:lock:flush:fence`)).toBe(2)
    } finally {
      await wb.disconnect()
    }
  })

  it('after SIGKILL: dead letters, quarantine and fence as of the last flush; events and last flush as of the last full checkpoint', async () => {
    const {config, prefix, posts, env} = await fresh()
    const run = await startFixture('memory-app.ts', {...env, MODE: 'state', END: 'kill'}).exit
    expect(run.signal).toBe('SIGKILL')
    const [, checkpointed, second, atDeath] = lines(run.stdout)
    expect(second.status).toBe('partial')
    expect(Object.keys(atDeath.deadLetters[`default:${posts}`])).toHaveLength(2)
    expect(Object.keys(atDeath.badIndex).sort()).toEqual([`c:default:${posts}:2:views`, `u:default:${posts}:3`])
    expect(atDeath.fence).toBe(2)

    const wb = await openEngine(config)
    try {
      expect(await readKeptState(wb.ipc, prefix)).toEqual({...atDeath, events: checkpointed.events, lastflush: checkpointed.lastflush})
      // The fence never goes backwards: the next lease is the third.
      await wb.flush()
      expect(await wb.ipc.get(`${prefix}:lock:flush:fence`)).toBe(3)
    } finally {
      await wb.disconnect()
    }
    // Both dead letters are still there for an operator, and nothing was applied twice.
    expect(Number((await db.knex(posts).where({id: 1}).first('views')).views)).toBe(1)
  })
})
