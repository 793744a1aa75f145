import {spawn} from 'node:child_process'
import {readFileSync, statSync, symlinkSync, writeFileSync} from 'node:fs'
import {dirname, join} from 'node:path'

import {open} from 'lmdb'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {Checkpoint} from '../../../src/core/checkpoint/checkpoint.js'
import {ownerLockPathOf} from '../../../src/core/checkpoint/owner-lock.js'
import type {WbcConfigInput} from '../../../src/core/config/schema.js'
import {runCli} from '../../support/cli.js'
import {createLogTable, createPostsTable, openTestDb, type TestDb} from '../../support/db.js'
import {engineConfig, openEngine} from '../../support/engine.js'
import {uniquePrefix} from '../../support/services.js'
import {startFixture, until} from '../../support/spawn.js'

const bin = join(import.meta.dirname, '..', '..', '..', 'bin', 'run.js')

/**
 * One owner per checkpoint: the application that keeps it, or `wbc recover` while the application
 * is down. The owner holds an OS lock for its whole life (released by the kernel when it dies); a
 * second process gets CHECKPOINT_IN_USE (exit 4 for wbc) and changes nothing.
 */
describe('checkpoint ownership', () => {
  let db: TestDb
  let round = 0

  beforeAll(async () => {
    db = await openTestDb('sqlite')
  })
  afterAll(async () => {
    await db.cleanup()
  })

  async function fresh() {
    round++
    const prefix = uniquePrefix()
    const posts = `ol_p${round}`
    const log = `ol_l${round}`
    await createPostsTable(db, posts, 100)
    await createLogTable(db, log)
    const config = engineConfig('memory', db.url, prefix)
    config.buffer = {...config.buffer, checkpointInterval: 100}
    const path = config.buffer.checkpointPath!
    const configFile = join(dirname(path), 'wbc.config.json')
    writeFileSync(configFile, JSON.stringify(config))
    return {config, prefix, posts, log, path, configFile, env: {WBC_TEST_CONFIG: JSON.stringify(config), POSTS: posts, LOG: log}}
  }

  /** Everything under the prefix in the file, read with a plain LMDB handle (it takes no owner lock). */
  function fileContents(path: string, prefix: string): Array<[string, unknown]> {
    const file = open({path, compression: true})
    try {
      return [...file.getRange({start: `${prefix}:`, end: `${prefix};`})].map(({key, value}) => [String(key), value])
    } finally {
      void file.close()
    }
  }

  async function totals(posts: string, log: string) {
    const views = await db.knex(posts).sum({n: 'views'}).first()
    const titles = await db.knex(posts).whereNotNull('title').count({n: '*'}).first()
    const rows = await db.knex(log).count({n: '*'}).first()
    return {views: Number(views?.n ?? 0), titles: Number(titles?.n), rows: Number(rows?.n)}
  }
  const applied = {views: 5050, titles: 10, rows: 50}

  it('wbc recover while the application owns the checkpoint: exit 4, CHECKPOINT_IN_USE with its pid, nothing applied or changed', async () => {
    const {prefix, posts, log, path, configFile, env} = await fresh()
    const app = startFixture('memory-app.ts', {...env, WORKLOAD: '1'})
    let out = ''
    app.child.stdout!.on('data', (chunk) => (out += chunk))
    await until(() => out.includes('ready'), 20_000, 'the checkpoint')
    const before = fileContents(path, prefix)
    expect(before.filter(([key]) => key.startsWith(`${prefix}:c:`))).toHaveLength(100)

    const refused = await runCli(['recover', '--json', '--config', configFile])
    expect(refused.code).toBe(4)
    const {error} = JSON.parse(refused.stdout)
    expect(error.code).toBe('CHECKPOINT_IN_USE')
    expect(error.message).toBe(`the checkpoint at ${path} is in use by another process (pid ${app.child.pid}); nothing was changed`)
    expect(await totals(posts, log)).toEqual({views: 0, titles: 0, rows: 0})
    expect(fileContents(path, prefix)).toEqual(before)

    // The owner dies: the kernel releases the lock, and recover applies everything once.
    app.child.kill('SIGKILL')
    await app.exit
    const first = await runCli(['recover', '--json', '--config', configFile])
    expect(first.code).toBe(0)
    expect(JSON.parse(first.stdout)).toMatchObject({mode: 'checkpoint', report: {status: 'ok'}})
    expect(await totals(posts, log)).toEqual(applied)
    const second = await runCli(['recover', '--json', '--config', configFile])
    expect(second.code).toBe(0)
    expect(JSON.parse(second.stdout).report.tables).toEqual([])
    expect(await totals(posts, log)).toEqual(applied)
  })

  it('an application started while wbc recover owns the checkpoint is refused; every write is applied once', async () => {
    const {posts, log, configFile, env} = await fresh()
    const seeded = startFixture('memory-app.ts', {...env, WORKLOAD: '1'})
    let out = ''
    seeded.child.stdout!.on('data', (chunk) => (out += chunk))
    await until(() => out.includes('ready'), 20_000, 'the checkpoint')
    seeded.child.kill('SIGKILL')
    await seeded.exit

    // wbc recover stops itself right after its first claim, holding the checkpoint.
    const recover = spawn(process.execPath, [bin, 'recover', '--json', '--config', configFile], {
      env: {...process.env, WBC_FAILPOINT: 'after-claim:stop', NO_COLOR: '1'},
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let recoverOut = ''
    recover.stdout!.on('data', (chunk) => (recoverOut += chunk))
    const recoverExit = new Promise<number | null>((resolve) => recover.on('exit', (code) => resolve(code)))
    await until(() => readFileSync(`/proc/${recover.pid}/stat`, 'utf8').split(' ')[2] === 'T', 20_000, 'wbc recover to stop after its claim')
    const during = await totals(posts, log)

    const app = await startFixture('memory-app.ts', {...env, WORKLOAD: '0', MODE: 'flush'}).exit
    expect(app.code).toBe(4)
    expect(JSON.parse(app.stdout).error).toMatchObject({code: 'CHECKPOINT_IN_USE', message: expect.stringContaining(`(pid ${recover.pid})`)})
    expect(await totals(posts, log)).toEqual(during)

    recover.kill('SIGCONT')
    expect(await recoverExit).toBe(0)
    expect(JSON.parse(recoverOut).report.status).toBe('ok')
    expect(await totals(posts, log)).toEqual(applied)
    const later = await startFixture('memory-app.ts', {...env, WORKLOAD: '0', MODE: 'flush'}).exit
    expect(later.code).toBe(0)
    expect(JSON.parse(later.stdout).tables).toEqual([])
    expect(await totals(posts, log)).toEqual(applied)
  })

  it('a second application on the same socket fails with SOCKET_IN_USE and leaves its own checkpoint byte for byte as it was', async () => {
    const live = await fresh()
    const app = await openEngine(live.config, {serveSocket: true})
    try {
      await app.table(live.posts).where(1).increment('views', 5)
      // Another configuration: the same socket, its own checkpoint with pending writes in it.
      const other: WbcConfigInput = {...engineConfig('memory', db.url, live.prefix), ipc: live.config.ipc}
      const seeded = await openEngine(other)
      await seeded.table(live.posts).where(2).increment('views', 7)
      await seeded.disconnect()
      const otherPath = other.buffer!.checkpointPath!
      const bytes = readFileSync(otherPath)

      const refused = await openEngine(other, {serveSocket: true}).then(
        () => null,
        (error: {code: string}) => error,
      )
      expect(refused?.code).toBe('SOCKET_IN_USE')
      expect(readFileSync(otherPath).equals(bytes)).toBe(true)

      // The same checkpoint as the live application: refused before anything is read.
      await app.ipc.checkpoint()
      const before = fileContents(live.path, live.prefix)
      const second = await openEngine(live.config, {serveSocket: true}).then(
        () => null,
        (error: {code: string; message: string}) => error,
      )
      expect(second).toMatchObject({code: 'CHECKPOINT_IN_USE', message: expect.stringContaining(`(pid ${process.pid})`)})
      expect(fileContents(live.path, live.prefix)).toEqual(before)
      expect(await app.table(live.posts).where(1).get('views')).toBe(5)
    } finally {
      await app.close()
    }
    expect(Number((await db.knex(live.posts).where({id: 1}).first('views')).views)).toBe(5)
    expect(Number((await db.knex(live.posts).where({id: 2}).first('views')).views)).toBe(0)
  })

  it('the lock file is owner-only, never followed through a symbolic link, and released on close', async () => {
    const {path} = await fresh()
    const file = Checkpoint.open(path)
    expect(statSync(ownerLockPathOf(path)).mode & 0o777).toBe(0o600)
    expect(readFileSync(ownerLockPathOf(path), 'utf8')).toBe(`${process.pid}\n`)
    expect(() => Checkpoint.open(path)).toThrow(expect.objectContaining({code: 'CHECKPOINT_IN_USE', exitCode: 4, path, holderPid: process.pid}))
    await file.close()
    const again = Checkpoint.open(path)
    await again.close()

    const linked = join(dirname(path), 'linked.lmdb')
    symlinkSync(join(dirname(path), 'elsewhere'), ownerLockPathOf(linked))
    expect(() => Checkpoint.open(linked)).toThrow(expect.objectContaining({code: 'CHECKPOINT_LOCK_FAILED'}))
  })

  it('one file is one owner whatever it is called: a link to it, a linked folder, a path with ./ and ..', async () => {
    const {path} = await fresh()
    const file = Checkpoint.open(path)
    const folder = dirname(path)
    symlinkSync(path, join(folder, 'alias.lmdb'))
    symlinkSync(folder, `${folder}-linked`)
    for (const name of [join(folder, 'alias.lmdb'), join(`${folder}-linked`, 'alias.lmdb'), `${folder}-linked/./x/../${path.slice(folder.length + 1)}`]) {
      expect(() => Checkpoint.open(name)).toThrow(expect.objectContaining({code: 'CHECKPOINT_IN_USE', exitCode: 4, holderPid: process.pid}))
    }
    await file.close()
    // A link to a file that is not there would be created through under another name: refused.
    symlinkSync(join(folder, 'missing.lmdb'), join(folder, 'dangling.lmdb'))
    expect(() => Checkpoint.open(join(folder, 'dangling.lmdb'))).toThrow(expect.objectContaining({code: 'CHECKPOINT_LOCK_FAILED'}))
  })
})
