import {mkdtempSync, readFileSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import type {WriteBuffer} from '../../src/core/buffer/write-buffer.js'
import {createLogTable, createPostsTable, dialectsUp, openTestDb, type TestDb} from '../support/db.js'
import {runCli} from '../support/cli.js'
import {cleanRedisPrefix, driversUp, openEngine} from '../support/engine.js'
import {uniquePrefix, urls} from '../support/services.js'

const SECRET = 'S3cr3t-pw-4419'
const manifest = JSON.parse(readFileSync(join(import.meta.dirname, '..', '..', 'oclif.manifest.json'), 'utf8')) as {commands: Record<string, unknown>}

/**
 * No output of any command — tables, JSON, errors, on success and on failure — contains a password
 * from the config or the environment. Every command in the manifest is run here (a new command
 * fails this test until it is added).
 */
describe.skipIf(!driversUp.redis || !dialectsUp.postgres)('passwords never appear in any command output', () => {
  const prefix = uniquePrefix()
  const posts = `${prefix}_posts`
  let db: TestDb
  let wb: WriteBuffer
  let cwd: string
  let configFile: string
  let downConfig: string
  const withPassword = (url: string) => {
    const u = new URL(url)
    u.password = SECRET
    if (!u.username) u.username = 'default'
    return u.toString()
  }

  beforeAll(async () => {
    db = await openTestDb('postgres')
    await createPostsTable(db, posts, 5)
    await createLogTable(db, `${prefix}_log`)
    cwd = mkdtempSync(join(tmpdir(), 'wbc-secrets-'))
    // PostgreSQL (trust auth) takes the password; Redis without auth ignores it.
    const pg = new URL(urls.postgres)
    pg.password = SECRET
    const config = {ipc: {driver: 'redis', redis: urls.redis, prefix}, connections: {default: pg.toString()}}
    configFile = join(cwd, 'wbc.config.json')
    writeFileSync(configFile, JSON.stringify(config))
    downConfig = join(cwd, 'down.json')
    writeFileSync(downConfig, JSON.stringify({ipc: {driver: 'redis', redis: withPassword('redis://127.0.0.1:1'), prefix, connectTimeout: 300}, connections: {default: withPassword('postgres://postgres@127.0.0.1:1/test')}}))
    wb = await openEngine(config as never)
    await wb.table(posts).where(1).increment('views', 2)
    await wb.table(posts).where(2).update({nope: 1}) // Dead-lettered at flush: the error text is shown.
  })
  afterAll(async () => {
    await wb?.close()
    await db?.cleanup()
    await cleanRedisPrefix(prefix)
  })

  const runs: Array<{id: string; args: string[]; env?: Record<string, string>}> = [
    {id: 'config', args: ['config', '--json']},
    {id: 'config', args: ['config']},
    {id: 'doctor', args: ['doctor', '--json']},
    {id: 'doctor', args: ['doctor']},
    {id: 'status', args: ['status', '--json']},
    {id: 'status', args: ['status']},
    {id: 'pending', args: ['pending', '--show-values', '--json']},
    {id: 'get', args: ['get', posts, '1', 'views', '--json']},
    {id: 'flush', args: ['flush', '--dry-run']},
    {id: 'flush', args: ['flush', '--json']},
    {id: 'flush', args: ['flush']},
    {id: 'deadletter:list', args: ['deadletter', 'list', '--json']},
    {id: 'deadletter:list', args: ['deadletter', 'list']},
    {id: 'deadletter:retry', args: ['deadletter', 'retry', '--id', 'nope', '--table', posts, '--json']},
    {id: 'deadletter:show', args: ['deadletter', 'show', 'nope', '--json']},
    {id: 'deadletter:drop', args: ['deadletter', 'drop', '--all', '--table', posts, '--yes', '--json']},
    {id: 'recover', args: ['recover', '--json']},
    {id: 'checkpoint', args: ['checkpoint', '--json']},
    {id: 'metrics', args: ['metrics']},
    {id: 'locks', args: ['locks', '--json']},
    {id: 'locks:release', args: ['locks', 'release', 'flush', '--yes', '--json']},
    {id: 'streams', args: ['streams', '--json']},
    {id: 'streams:tail', args: ['streams', 'tail', 'events', '--json']},
    {id: 'compact', args: ['compact', 'events', '--max-count', '10', '--dry-run', '--json']},
    {id: 'dashboard', args: ['dashboard']},
    {id: 'demo', args: ['demo', '--seconds', '0.5', '--json']},
  ]

  it('covers every command', () => {
    expect([...new Set(runs.map((r) => r.id))].sort()).toEqual(Object.keys(manifest.commands).sort())
  })

  it('with the config file: outputs and errors are clean', async () => {
    const leaks: string[] = []
    for (const run of runs) {
      const result = await runCli(run.id === 'demo' ? run.args : [...run.args, '--config', configFile], {cwd})
      if (`${result.stdout}${result.stderr}`.includes(SECRET)) leaks.push(`${run.args.join(' ')} (exit ${result.code})`)
    }
    expect(leaks).toEqual([])
    // The password was there to leak: config shows where it was, masked.
    const shown = await runCli(['config', '--json', '--config', configFile], {cwd})
    expect(JSON.stringify(JSON.parse(shown.stdout))).toContain(':***@')
  }, 120_000)

  it('with services down and passwords in the environment: errors are clean', async () => {
    const leaks: string[] = []
    const env = {WBC_REDIS_URL: withPassword('redis://127.0.0.1:1'), DATABASE_URL: withPassword('postgres://postgres@127.0.0.1:1/test')}
    for (const run of runs.filter((r) => r.id !== 'demo')) {
      for (const options of [{args: [...run.args, '--config', downConfig]}, {args: run.args, env}]) {
        const result = await runCli(options.args, {cwd, env: options.env, timeoutMs: 20_000})
        if (`${result.stdout}${result.stderr}`.includes(SECRET)) leaks.push(`${options.args.join(' ')} (exit ${result.code})`)
      }
    }
    expect(leaks).toEqual([])
  }, 180_000)
})
