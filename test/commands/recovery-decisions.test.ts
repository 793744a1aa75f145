import {spawnSync} from 'node:child_process'
import {copyFileSync, mkdtempSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {open} from 'lmdb'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import type {WriteBuffer} from '../../src/core/buffer/write-buffer.js'
import {FENCE_TABLE} from '../../src/core/sql/ledger.js'
import {runCli} from '../support/cli.js'
import {createPostsTable, dialectsUp, openTestDb, type TestDb} from '../support/db.js'
import {openEngine} from '../support/engine.js'
import {DedicatedRedis} from '../../chaos/services.js'
import {uniquePrefix} from '../support/services.js'
import {startFixture, until} from '../support/spawn.js'

const sum = async (db: TestDb, table: string) => Number((await db.knex(table).sum({n: 'views'}))[0].n ?? 0)

/** A backup exported while the application ran must not be applied once the database moved past it. */
describe.skipIf(!dialectsUp.postgres)('wbc checkpoint --out, then recover --checkpoint (memory driver + postgres)', () => {
  const prefix = uniquePrefix()
  const posts = `${prefix}_posts`
  let db: TestDb
  let cwd: string
  let config: Record<string, unknown>

  beforeAll(async () => {
    db = await openTestDb('postgres')
    await createPostsTable(db, posts, 50)
    cwd = mkdtempSync(join(tmpdir(), 'wbc-backup-'))
    config = {
      ipc: {driver: 'memory', prefix, socket: join(cwd, 'wbc.sock')},
      connections: {default: db.url},
      buffer: {flushInterval: 60_000, checkpointPath: join(cwd, 'checkpoint.lmdb')},
    }
    writeFileSync(join(cwd, 'wbc.config.json'), JSON.stringify(config))
  })
  afterAll(async () => {
    await db?.knex(FENCE_TABLE).where({name: prefix}).delete()
    await db?.cleanup()
  })

  const startApp = async (workload: number) => {
    const app = startFixture('serving-app.ts', {WBC_TEST_CONFIG: JSON.stringify(config), WORKLOAD: String(workload), POSTS: posts})
    await until(
      async () => {
        const status = await runCli(['status', '--json'], {cwd})
        return status.code === 0 && JSON.parse(status.stdout).tables.length === (workload > 0 ? 1 : 0)
      },
      20_000,
      'the application and its workload',
    )
    return app
  }
  const stop = async (app: ReturnType<typeof startFixture>) => {
    app.child.kill('SIGTERM')
    expect((await app.exit).code).toBe(0)
  }

  it('the export records what it is; once a flush committed after it, applying it needs --force (exit 2, the dry run warns)', async () => {
    const written = (50 * 51) / 2
    let app = await startApp(50)
    expect((await runCli(['flush', '--json'], {cwd})).code).toBe(0)
    expect(await sum(db, posts)).toBe(written)
    await stop(app)

    // More writes; the operator exports a backup while the application runs.
    app = await startApp(50)
    const backup = join(cwd, 'backup.lmdb')
    const exported = await runCli(['checkpoint', '--out', backup, '--json'], {cwd})
    expect(exported.code).toBe(0)
    const meta = JSON.parse(exported.stdout).meta
    expect(meta).toMatchObject({format: 1, prefix, store: expect.stringContaining('wbc.sock'), databases: {default: {fence: expect.any(Number), seq: expect.any(Number)}}})
    expect(meta.databases.default.seq).toBeGreaterThan(0)
    const current = JSON.parse((await runCli(['recover', '--checkpoint', backup, '--dry-run', '--json'], {cwd})).stdout)
    expect(current).toMatchObject({mode: 'checkpoint', dryRun: true, found: {counters: 50}, backup: {verdict: 'current'}})

    // The application flushes (the database moves past the backup) and stops.
    expect((await runCli(['flush', '--json'], {cwd})).code).toBe(0)
    expect(await sum(db, posts)).toBe(2 * written)
    await stop(app)

    const dry = await runCli(['recover', '--checkpoint', backup, '--dry-run'], {cwd})
    expect(dry.code).toBe(0)
    expect(dry.stdout).toMatch(/WARNING: exported .* database "default" has had \d+ flush commit\(s\) since .* refused without --force/)
    const dryJson = JSON.parse((await runCli(['recover', '--checkpoint', backup, '--dry-run', '--json'], {cwd})).stdout)
    expect(dryJson.backup).toMatchObject({verdict: 'moved-past'})
    const refused = await runCli(['recover', '--checkpoint', backup, '--json'], {cwd})
    expect(refused.code).toBe(2)
    expect(JSON.parse(refused.stdout).error).toMatchObject({code: 'BACKUP_OUTDATED', exitCode: 2})
    expect(await sum(db, posts)).toBe(2 * written)

    // A copy without its export record: of unknown age, refused the same way.
    const copy = join(cwd, 'copy.lmdb')
    copyFileSync(backup, copy)
    const file = open({path: copy, compression: true})
    await file.remove(`${prefix}:export`)
    await file.close()
    const unknown = await runCli(['recover', '--checkpoint', copy, '--json'], {cwd})
    expect(unknown.code).toBe(2)
    expect(JSON.parse(unknown.stdout).error.message).toMatch(/no export record/)
    expect(await sum(db, posts)).toBe(2 * written)

    // The application's own checkpoint is the live state: applied without question (nothing is left in it).
    const own = await runCli(['recover', '--json'], {cwd})
    expect(own.code).toBe(0)
    expect(await sum(db, posts)).toBe(2 * written)

    // --force is the operator's decision: the backup is applied (here a second time, as warned).
    const forced = await runCli(['recover', '--checkpoint', backup, '--force', '--json'], {cwd})
    expect(forced.code).toBe(0)
    expect(await sum(db, posts)).toBe(3 * written)
  })
})

const redisServer = spawnSync('redis-server', ['--version']).status === 0

/** The operator's view of a Redis that came back from an older snapshot. */
describe.skipIf(!redisServer || !dialectsUp.postgres)('wbc after a Redis rollback (redis RDB + postgres)', () => {
  const prefix = uniquePrefix()
  const posts = `${prefix}_posts`
  let redis: DedicatedRedis
  let db: TestDb
  let cwd: string
  let config: Record<string, unknown>
  let wb: WriteBuffer | undefined

  beforeAll(async () => {
    redis = await DedicatedRedis.start({appendonly: false})
    db = await openTestDb('postgres')
    await createPostsTable(db, posts, 3)
    cwd = mkdtempSync(join(tmpdir(), 'wbc-rollback-'))
    config = {ipc: {driver: 'redis', redis: redis.url, prefix}, connections: {default: db.url}}
    writeFileSync(join(cwd, 'wbc.config.json'), JSON.stringify(config))
  })
  afterAll(async () => {
    await wb?.disconnect()
    await redis?.stop()
    await db?.knex(FENCE_TABLE).where({name: prefix}).delete()
    await db?.cleanup()
  })

  it('flush and status exit 7 and say so; doctor warns about the missing AOF and fails the rollback check; recover --after-rollback decides', async () => {
    wb = await openEngine(config as never)
    await wb.table(posts).where(1).increment('views', 5)
    await redis.command('SAVE')
    expect((await runCli(['flush', '--json'], {cwd})).code).toBe(0)
    expect(await sum(db, posts)).toBe(5)
    await wb.disconnect()
    wb = undefined
    await redis.crashAndRestart()

    const flush = await runCli(['flush', '--json'], {cwd})
    expect(flush.code).toBe(7)
    expect(JSON.parse(flush.stdout).error).toMatchObject({code: 'STORE_ROLLED_BACK', exitCode: 7})
    expect(await sum(db, posts)).toBe(5)
    expect((await runCli(['recover', '--json'], {cwd})).code).toBe(7)

    const status = await runCli(['status'], {cwd})
    expect(status.code).toBe(7)
    expect(status.stdout).toContain('STATE STORE ROLLED BACK')
    const statusJson = JSON.parse((await runCli(['status', '--json'], {cwd})).stdout)
    expect(statusJson.rollback).toMatchObject({connection: 'default'})

    const doctor = await runCli(['doctor', '--json'], {cwd})
    expect(doctor.code).toBe(7)
    const checks = JSON.parse(doctor.stdout).checks as Array<{name: string; ok: boolean; warning?: string}>
    expect(checks.find((c) => c.name === 'redis persistence')).toMatchObject({ok: true, warning: expect.stringContaining('no append-only file')})
    expect(checks.find((c) => c.name === 'rollback')).toMatchObject({ok: false})

    const dry = await runCli(['recover', '--after-rollback', '--dry-run', '--json'], {cwd})
    expect(dry.code).toBe(7)
    const assessment = JSON.parse(dry.stdout).assessment
    expect(assessment).toMatchObject({rolledBack: true, flagged: {connection: 'default'}})
    expect(assessment.pending).toEqual([expect.objectContaining({table: posts, counters: {keys: 1, rows: 1}, inflight: {batches: 0}})]) // refused before anything was claimed
    expect((await runCli(['recover', '--after-rollback'], {cwd})).code).toBe(2) // no terminal, no --yes
    expect((await runCli(['flush', '--json'], {cwd})).code).toBe(7)
    const resumed = await runCli(['recover', '--after-rollback', '--yes', '--json'], {cwd})
    expect(resumed.code).toBe(0)
    expect(JSON.parse(resumed.stdout).resynced).toMatchObject({epoch: expect.any(String), fence: expect.any(Number)})
    expect((await runCli(['status', '--json'], {cwd})).code).toBe(0)
    expect((await runCli(['flush', '--json'], {cwd})).code).toBe(0)
    expect(await sum(db, posts)).toBe(10) // what the operator chose to apply
    expect((await runCli(['doctor', '--json'], {cwd})).code).toBe(0)
  })
})
