import {readFileSync, statSync, truncateSync, writeFileSync} from 'node:fs'
import {dirname, join} from 'node:path'

import {open} from 'lmdb'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {readStatus} from '../../../src/core/inspect/status.js'
import {createLogTable, createPostsTable, openTestDb, type TestDb} from '../../support/db.js'
import {runCli} from '../../support/cli.js'
import {engineConfig, openEngine} from '../../support/engine.js'
import {uniquePrefix} from '../../support/services.js'

/**
 * A damaged checkpoint must never crash the application or wbc (LMDB can die with SIGBUS on a
 * truncated file), never be changed, and never be silently dropped: start-up refuses with a clear
 * error; entries of the wrong shape in a sound file are set aside and named.
 */
describe('damaged memory-driver checkpoint', () => {
  let db: TestDb
  const prefix = uniquePrefix()

  beforeAll(async () => {
    db = await openTestDb('sqlite')
    await createPostsTable(db, 'posts', 10)
    await createLogTable(db, 'log')
  })
  afterAll(() => db.cleanup())

  async function writtenCheckpoint(entries: Array<[string, unknown]>): Promise<{config: ReturnType<typeof engineConfig>; path: string}> {
    const config = engineConfig('memory', db.url, prefix)
    const path = config.buffer!.checkpointPath!
    const file = open({path, compression: true})
    for (let i = 0; i < 3000; i++) await file.put(`other:session:${i}`, {data: 'x'.repeat(50)})
    for (const [key, value] of entries) await file.put(key, value)
    await file.close()
    return {config, path}
  }

  for (const damage of ['truncated', 'overwritten'] as const) {
    it(`a ${damage} file: start-up refuses with CHECKPOINT_DAMAGED and leaves the file as it was`, async () => {
      const {config, path} = await writtenCheckpoint([[`${prefix}:c:default:posts:1:views`, {delta: 5, base: 0}]])
      if (damage === 'truncated') truncateSync(path, Math.floor(statSync(path).size / 3))
      else writeFileSync(path, Buffer.alloc(statSync(path).size, 0x5a))
      const before = readFileSync(path)

      const error = await openEngine(config).then(
        () => null,
        (e: unknown) => e as {code: string; message: string; hint: string},
      )
      expect(error?.code).toBe('CHECKPOINT_DAMAGED')
      expect(error?.message).toContain(`the checkpoint at ${path} is damaged`)
      expect(error?.hint).toContain(`mv ${path} ${path}.damaged`)
      expect(readFileSync(path).equals(before)).toBe(true)

      // wbc doctor (application down) names the damage instead of crashing.
      const configFile = join(dirname(path), 'wbc.config.json')
      writeFileSync(configFile, JSON.stringify(config))
      const doctor = await runCli(['doctor', '--json', '--config', configFile])
      expect(doctor.code).toBe(3) // First failure: no application serves the socket.
      const check = JSON.parse(doctor.stdout).checks.find((c: {name: string}) => c.name === 'checkpoint')
      expect(check.ok).toBe(false)
      expect(check.detail).toContain('is damaged')
    })
  }

  it('entries of the wrong shape are set aside and named; the rest is restored and flushed', async () => {
    const {config, path} = await writtenCheckpoint([
      [`${prefix}:c:default:posts:1:views`, {delta: 5, base: 0}],
      [`${prefix}:c:default:posts:2:views`, {delta: 'abc'}],
      [`${prefix}:u:default:posts:3`, 'not fields'],
      [`${prefix}:q:default:log`, [{user_id: 1, action: 'a', seq: 1}]],
      [`${prefix}:q:default:other`, 42],
    ])
    const wb = await openEngine(config)
    try {
      const status = await readStatus(wb.ipc, prefix)
      expect(status.badKeys.map((b) => b.key).sort()).toEqual([`${prefix}:bad:c:default:posts:2:views`, `${prefix}:bad:q:default:other`, `${prefix}:bad:u:default:posts:3`])
      expect(status.badKeys.find((b) => b.key.endsWith('posts:2:views'))?.problem).toBe(
        `quarantined: checkpoint entry: a counter entry without a numeric delta (kept in the checkpoint under ${prefix}:bad:)`,
      )
      const report = await wb.flush()
      expect(report.status).toBe('ok')
      expect((await db.knex('posts').select('id', 'views').where('views', '>', 0)).map((r) => [r.id, r.views])).toEqual([[1, 5]])
      expect((await db.knex('log').select('seq')).map((r) => r.seq)).toEqual([1])
    } finally {
      await wb.close()
    }
    // The file keeps them, out of the ranges a checkpoint rewrites.
    const file = open({path, compression: true, readOnly: true})
    expect(file.get(`${prefix}:bad:c:default:posts:2:views`)).toEqual({delta: 'abc'})
    expect(file.get(`${prefix}:bad:q:default:other`)).toBe(42)
    expect(file.get(`${prefix}:c:default:posts:2:views`)).toBeUndefined()
    expect(file.get('other:session:7')).toEqual({data: 'x'.repeat(50)})
    await file.close()
  })
})
