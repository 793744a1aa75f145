import {mkdtempSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {tmpdir} from 'node:os'

import {Redis} from 'ioredis'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import type {WriteBuffer} from '../../../src/core/buffer/write-buffer.js'
import {scanBadKeys} from '../../../src/core/inspect/bad-keys.js'
import {readStatus} from '../../../src/core/inspect/status.js'
import {createLogTable, createPostsTable, openTestDb, type TestDb} from '../../support/db.js'
import {cleanRedisPrefix, driversUp, engineConfig, openEngine, type DriverName} from '../../support/engine.js'
import {runCli} from '../../support/cli.js'
import {uniquePrefix, urls} from '../../support/services.js'

/**
 * Garbage under the prefix (values that are not numbers or not JSON, keys of the wrong type, names
 * that do not parse, a batch that is not a batch): status still works and names it, flush moves it
 * to {prefix}:bad:* with the reason and flushes everything else exactly.
 */
describe.each(['redis', 'memory'] as DriverName[])('garbage under the prefix on %s', (driver) => {
  const up = driversUp[driver]
  const prefix = uniquePrefix()
  const posts = `${prefix}_posts`
  const log = `${prefix}_log`
  let db: TestDb
  let wb: WriteBuffer
  let raw: Redis | undefined

  beforeAll(async () => {
    if (!up) return
    db = await openTestDb('sqlite')
    await createPostsTable(db, posts, 20)
    await createLogTable(db, log)
    wb = await openEngine(engineConfig(driver, db.url, prefix))
    if (driver === 'redis') raw = new Redis(urls.redis)
  })
  afterAll(async () => {
    if (!up) return
    raw?.disconnect()
    await wb?.close()
    await db?.cleanup()
    if (driver === 'redis') await cleanRedisPrefix(prefix)
  })

  it.skipIf(!up)('status names it, flush quarantines it and flushes the rest exactly', async () => {
    const ipc = wb.ipc
    const p = prefix
    for (let id = 1; id <= 10; id++) await wb.table(posts).where(id).increment('views', id)
    await wb.table(posts).where(3).update({title: 'good'})
    await wb.table(log).insert([
      {user_id: 1, action: 'a', seq: 1},
      {user_id: 2, action: 'a', seq: 2},
    ])

    // A counter holding a string, one holding a hash, a name without where/column, an update
    // key holding a string, a queued row that is a number, an in-flight "batch" that is a number.
    await ipc.set(`${p}:c:default:${posts}:11:views`, 'abc', 0)
    await ipc.hset(`${p}:c:default:${posts}:12:views`, {x: 1})
    await ipc.set(`${p}:c:default:${posts}`, 5, 0)
    await ipc.sadd(`${p}:idx:counters`, `default:${posts}:11:views`, `default:${posts}:12:views`, `default:${posts}`)
    await ipc.set(`${p}:u:default:${posts}:4`, 'x', 0)
    await ipc.sadd(`${p}:idx:updates`, `default:${posts}:4`)
    await ipc.rpush(`${p}:q:default:${log}`, 42, [1])
    await ipc.set(`${p}:if:000-garbage`, 7, 0)
    await ipc.sadd(`${p}:idx:inflight`, '000-garbage')
    if (raw) {
      // Only Redis can hold text that is not JSON at all.
      await raw.set(`${p}:c:default:${posts}:13:views`, 'not a number')
      await raw.hset(`${p}:u:default:${posts}:5`, 'title', '{not json')
      await raw.sadd(`${p}:idx:counters`, `default:${posts}:13:views`)
      await raw.sadd(`${p}:idx:updates`, `default:${posts}:5`)
    }

    const status = await readStatus(ipc, p)
    expect(status.badKeys.map((b) => b.key).sort()).toEqual([`${p}:c:default:${posts}`, `${p}:if:000-garbage`].sort())
    expect(status.tables.find((t) => t.table === posts)?.counters.keys).toBe(driver === 'redis' ? 13 : 12)

    const deep = await scanBadKeys(ipc, p)
    const expectedDeep = [
      `${p}:c:default:${posts}`,
      `${p}:if:000-garbage`,
      `${p}:c:default:${posts}:11:views`,
      `${p}:c:default:${posts}:12:views`,
      `${p}:u:default:${posts}:4`,
      `${p}:q:default:${log}`,
      ...(raw ? [`${p}:c:default:${posts}:13:views`, `${p}:u:default:${posts}:5`] : []),
    ]
    expect(deep.badKeys.map((b) => b.key).sort()).toEqual(expectedDeep.sort())
    expect(deep.total).toBe(expectedDeep.length)

    if (raw) {
      // The operator's view of the same state: status works, doctor names the bad keys and exits 5.
      const config = join(mkdtempSync(join(tmpdir(), 'wbc-garbage-')), 'wbc.config.json')
      writeFileSync(config, JSON.stringify(engineConfig('redis', db.url, prefix)))
      const cliStatus = await runCli(['status', '--json', '--config', config])
      expect(cliStatus.code).toBe(0)
      expect(JSON.parse(cliStatus.stdout).badKeysTotal).toBe(2)
      const doctor = await runCli(['doctor', '--json', '--config', config])
      expect(doctor.code).toBe(5)
      const state = JSON.parse(doctor.stdout).checks.find((c: {name: string}) => c.name === 'state')
      expect(state.badKeys.map((b: {key: string}) => b.key).sort()).toEqual([...expectedDeep].sort())
      expect(state.badKeys).toContainEqual({
        key: `${p}:c:default:${posts}:13:views`,
        problem: `key "${p}:c:default:${posts}:13:views" holds a value that cannot be decoded: not JSON: not a number; the next flush quarantines it`,
      })
    }

    const report = await wb.flush()
    expect(report.status).toBe('partial')
    const quarantined = Object.fromEntries(report.quarantined.map((q) => [q.key, q.reason]))
    expect(quarantined).toEqual({
      [`if:000-garbage`]: expect.stringContaining('the batch cannot be read'),
      [`c:default:${posts}`]: 'the key name is not {connection}:{table}:{where}:{column}',
      [`c:default:${posts}:11:views`]: 'holds "abc", not a number',
      [`c:default:${posts}:12:views`]: 'holds a hash, not a number',
      [`u:default:${posts}:4`]: 'holds a string, not a hash',
      [`q:default:${log}`]: '2 queued row(s) not a JSON object',
      ...(raw ? {[`c:default:${posts}:13:views`]: 'holds "not a number", not a number', [`u:default:${posts}:5`]: 'field title is not JSON'} : {}),
    })

    // Everything else landed exactly.
    const rows = await db.knex(posts).select('id', 'views', 'title').orderBy('id')
    expect(rows.map((r) => Number(r.views))).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0])
    expect(rows.filter((r) => r.title !== null).map((r) => [r.id, r.title])).toEqual([[3, 'good']])
    expect((await db.knex(log).select('seq').orderBy('seq')).map((r) => r.seq)).toEqual([1, 2])

    // The garbage is kept, aside, and status lists it as quarantined; nothing else is pending.
    expect(await ipc.get(`${p}:bad:c:default:${posts}:11:views`)).toBe('abc')
    expect(await ipc.hgetall(`${p}:bad:c:default:${posts}:12:views`)).toEqual({x: 1})
    expect(await ipc.lrange(`${p}:bad:q:default:${log}`, 0, -1)).toEqual([42, [1]])
    const after = await readStatus(ipc, p)
    expect(after.tables).toEqual([])
    expect(after.badKeys.every((b) => b.problem.startsWith('quarantined: '))).toBe(true)
    expect(after.badKeys.map((b) => b.key).sort()).toEqual(expectedDeep.map((k) => k.replace(`${p}:`, `${p}:bad:`)).sort())

    // The next flush has nothing left to trip on.
    const again = await wb.flush()
    expect(again.status).toBe('ok')
    expect(again.quarantined).toEqual([])
  })
})
