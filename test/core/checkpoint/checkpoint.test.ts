import {existsSync, statSync} from 'node:fs'

import {open} from 'lmdb'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import type {WbcConfigInput} from '../../../src/core/config/schema.js'
import {createLogTable, createPostsTable, openTestDb, type TestDb} from '../../support/db.js'
import {engineConfig, openEngine} from '../../support/engine.js'
import {uniquePrefix} from '../../support/services.js'
import {startFixture, until} from '../../support/spawn.js'

/** The memory driver keeps its state in the application; the LMDB checkpoint is what survives a crash. */
describe('memory driver checkpoint (SQLite)', () => {
  let db: TestDb
  let round = 0
  const prefix = uniquePrefix()

  beforeAll(async () => {
    db = await openTestDb('sqlite')
  })
  afterAll(async () => {
    await db.cleanup()
  })

  async function fresh(): Promise<{config: WbcConfigInput; posts: string; log: string; env: Record<string, string>}> {
    round++
    const posts = `p${round}`
    const log = `l${round}`
    await createPostsTable(db, posts, 100)
    await createLogTable(db, log)
    const config = engineConfig('memory', db.url, prefix)
    config.buffer = {...config.buffer, checkpointInterval: 100}
    return {config, posts, log, env: {WBC_TEST_CONFIG: JSON.stringify(config), POSTS: posts, LOG: log}}
  }

  async function assertWorkloadApplied(posts: string, log: string): Promise<void> {
    const rows = await db.knex(posts).select('id', 'views', 'title').orderBy('id')
    expect(rows.map((r) => Number(r.views))).toEqual(Array.from({length: 100}, (_, i) => i + 1))
    expect(rows.filter((r) => r.title !== null).map((r) => r.title)).toEqual(Array.from({length: 10}, (_, i) => `t${i + 1}`))
    expect((await db.knex(log).select('seq').orderBy('seq')).map((r) => Number(r.seq))).toEqual(Array.from({length: 50}, (_, i) => i))
  }

  it('an application killed after a checkpoint restarts with exactly its unflushed deltas', async () => {
    const {config, posts, log, env} = await fresh()
    const app = startFixture('memory-app.ts', {...env, WORKLOAD: '1'})
    let out = ''
    app.child.stdout!.on('data', (chunk) => (out += chunk))
    await until(() => out.includes('ready'), 20_000, 'the checkpoint')
    app.child.kill('SIGKILL')
    await app.exit
    const path = (config.buffer as {checkpointPath: string}).checkpointPath
    expect(statSync(path).mode & 0o777).toBe(0o600)

    const wb = await openEngine(config)
    const report = await wb.flush()
    expect(report.status).toBe('ok')
    expect(report.tables).toEqual([expect.objectContaining({table: log, inserts: 50}), expect.objectContaining({table: posts, counters: 100, updates: 10})])
    await assertWorkloadApplied(posts, log)
    await wb.close()
    // Recovering the same checkpoint again applies nothing more.
    const again = await openEngine(config)
    expect((await again.flush()).tables).toEqual([])
    await again.close()
    await assertWorkloadApplied(posts, log)
  })

  for (const failpoint of ['after-claim', 'mid-transaction', 'after-commit'] as const) {
    it(`an application killed ${failpoint.replace('-', ' ')} of a flush recovers and applies everything once`, async () => {
      const {config, posts, log, env} = await fresh()
      const crashed = await startFixture('memory-app.ts', {...env, WORKLOAD: '1', MODE: 'flush', WBC_FAILPOINT: failpoint}).exit
      expect(crashed.signal).toBe('SIGKILL')
      const wb = await openEngine(config)
      const report = await wb.flush()
      expect(report.status).toBe('ok')
      expect(report.tables.reduce((n, t) => n + t.recovered, 0)).toBe(1)
      await assertWorkloadApplied(posts, log)
      await wb.close()
      const again = await startFixture('memory-app.ts', {...env, WORKLOAD: '0', MODE: 'flush'}).exit
      expect(again.code).toBe(0)
      expect(JSON.parse(again.stdout).tables).toEqual([])
      await assertWorkloadApplied(posts, log)
    })
  }

  it('reads an ODAC checkpoint file and leaves its other keys (sessions) alone', async () => {
    const {config, posts, log} = await fresh()
    const path = (config.buffer as {checkpointPath: string}).checkpointPath
    const odac = open({path, compression: true})
    // Inside a transaction each put applies at once; the transaction's promise reports the commit.
    await odac.transaction(() => {
      void odac.put(`${prefix}:c:default:${posts}:7:views`, {delta: 5, base: 0})
      void odac.put(`${prefix}:c:default:${posts}:{"id":8}:likes`, {delta: 2, base: 0})
      void odac.put(`${prefix}:u:default:${posts}:9`, {title: 'from odac', last_ip: '10.0.0.1'})
      void odac.put(`${prefix}:q:default:${log}`, [
        {user_id: 1, action: 'x', seq: 1},
        {user_id: 2, action: 'y', seq: 2},
      ])
      void odac.put('sess:abc', {user: 42})
    })
    await odac.close()
    const wb = await openEngine(config)
    const report = await wb.flush()
    expect(report.status).toBe('ok')
    await wb.close()
    expect(await db.knex(posts).whereIn('id', [7, 8, 9]).orderBy('id').select('id', 'views', 'likes', 'title', 'last_ip')).toEqual([
      {id: 7, views: 5, likes: 0, title: null, last_ip: null},
      {id: 8, views: 0, likes: 2, title: null, last_ip: null},
      {id: 9, views: 0, likes: 0, title: 'from odac', last_ip: '10.0.0.1'},
    ])
    expect((await db.knex(log).select('seq').orderBy('seq')).map((r) => r.seq)).toEqual([1, 2])
    const after = open({path, compression: true})
    expect(after.get('sess:abc')).toEqual({user: 42})
    // Nothing pending is left; what remains under the prefix is wbc's own state (fence, stats, events…).
    expect([...after.getKeys({start: `${prefix}:`, end: `${prefix};`})].filter((key) => !String(key).startsWith(`${prefix}:wbc:`))).toEqual([])
    await after.close()
    expect(existsSync(path)).toBe(true)
  })
})
