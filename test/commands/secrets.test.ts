import {mkdtempSync, readFileSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import type {WriteBuffer} from '../../src/core/buffer/write-buffer.js'
import {createLogTable, createPostsTable, dialectsUp, openTestDb, type TestDb} from '../support/db.js'
import {runCli} from '../support/cli.js'
import {mapLimit} from '../support/limit.js'
import {cleanRedisPrefix, driversUp, openEngine} from '../support/engine.js'
import {uniquePrefix, urls} from '../support/services.js'

const SECRET = 'S3cr3t-pw-4419'
const tag = Math.random().toString(36).slice(2, 8)
/** One secret per place a secret can sit; each must stay out of every output. */
const FORMS = {
  redisUserinfo: `Ru-${tag}`,
  redisQuery: `Rq-${tag}`,
  redisObject: `Ro-${tag}`,
  sentinel: `Rs-${tag}`,
  pgQuery: `Pq-${tag}`,
  slashy: `pa/ss#w0rd@${tag}`,
  pgObject: `Po-${tag}`,
  pemBody: `MIIpemBody${tag}`,
  passphrase: `Pp-${tag}`,
  mysqlPassword1: `M1-${tag}`,
  mysqlSha1: `M2-${tag}`,
  connectionString: `Cs-${tag}`,
}
/** Fragments that must not show either (a password cut at its "/", "#" or "@" still leaks). */
const FRAGMENTS = [...Object.values(FORMS), `ss#w0rd@${tag}`, `w0rd@${tag}`]
const PEM = `-----BEGIN ENCRYPTED PRIVATE KEY-----\n${FORMS.pemBody}\n-----END ENCRYPTED PRIVATE KEY-----`
const leaked = (text: string) => [SECRET, ...FRAGMENTS].filter((secret) => text.includes(secret))
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
  let formsFile: string
  let objectFile: string
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
    // Every form at once: a URL ?password= (ioredis and pg honour it), an unencoded "/", "#", "@" in a
    // password, pg ssl.key / ssl.passphrase, mysql2 password1 / passwordSha1, a connectionString.
    const redisUrl = new URL(urls.redis)
    redisUrl.username = 'default'
    redisUrl.password = FORMS.redisUserinfo
    redisUrl.searchParams.set('password', FORMS.redisQuery)
    const pgUrl = new URL(urls.postgres)
    pgUrl.searchParams.set('password', FORMS.pgQuery)
    const pg2 = new URL(urls.postgres)
    const connections = {
      default: pgUrl.toString(),
      slashy: `postgres://app:${FORMS.slashy}@${pg2.host}/test`,
      tls: {
        client: 'pg',
        connection: {
          host: pg2.hostname,
          port: Number(pg2.port),
          user: 'postgres',
          database: 'test',
          password: FORMS.pgObject,
          ssl: {key: PEM, passphrase: FORMS.passphrase, rejectUnauthorized: false},
        },
      },
      my: {client: 'mysql2', connection: {host: '127.0.0.1', user: 'root', password1: FORMS.mysqlPassword1, passwordSha1: FORMS.mysqlSha1}},
      cs: {client: 'pg', connection: {connectionString: `postgres://postgres:${FORMS.connectionString}@${pg2.host}/test`}},
    }
    formsFile = join(cwd, 'forms.json')
    writeFileSync(formsFile, JSON.stringify({ipc: {driver: 'redis', redis: redisUrl.toString(), prefix}, connections}))
    const r = new URL(urls.redis)
    objectFile = join(cwd, 'object.json')
    writeFileSync(
      objectFile,
      JSON.stringify({
        ipc: {driver: 'redis', redis: {host: r.hostname, port: Number(r.port || 6379), username: 'default', password: FORMS.redisObject, sentinelPassword: FORMS.sentinel}, prefix},
        connections,
      }),
    )
    downConfig = join(cwd, 'down.json')
    writeFileSync(
      downConfig,
      JSON.stringify({
        ipc: {driver: 'redis', redis: `redis://u:${FORMS.slashy}@127.0.0.1:1/?password=${FORMS.redisQuery}`, prefix, connectTimeout: 300},
        connections: {default: withPassword('postgres://postgres@127.0.0.1:1/test'), other: `postgres://postgres@127.0.0.1:1/test?password=${FORMS.pgQuery}`},
      }),
    )
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
    {id: 'dashboard', args: ['dashboard', '--once']},
    {id: 'demo', args: ['demo', '--seconds', '0.5', '--json']},
  ]

  it('covers every command', () => {
    expect([...new Set(runs.map((r) => r.id))].sort()).toEqual(Object.keys(manifest.commands).sort())
  })

  it('with the config file: outputs and errors are clean', async () => {
    const leaks: string[] = []
    // Several at a time: each command is its own process, and most of their time is start-up.
    await mapLimit(runs, 4, async (run) => {
      const result = await runCli(run.id === 'demo' ? run.args : [...run.args, '--config', configFile], {cwd})
      if (`${result.stdout}${result.stderr}`.includes(SECRET)) leaks.push(`${run.args.join(' ')} (exit ${result.code})`)
    })
    expect(leaks).toEqual([])
    // The password was there to leak: config shows where it was, masked.
    const shown = await runCli(['config', '--json', '--config', configFile], {cwd})
    expect(JSON.stringify(JSON.parse(shown.stdout))).toContain(':***@')
  }, 120_000)

  it('with services down and passwords in the environment: errors are clean', async () => {
    const leaks: string[] = []
    const envs = [
      {WBC_REDIS_URL: withPassword('redis://127.0.0.1:1'), DATABASE_URL: withPassword('postgres://postgres@127.0.0.1:1/test')},
      {WBC_REDIS_URL: `redis://127.0.0.1:1/0?password=${FORMS.redisQuery}`, DATABASE_URL: `postgres://app:${FORMS.slashy}@127.0.0.1:1/test`},
    ]
    const variants = runs
      .filter((r) => r.id !== 'demo')
      .flatMap((run): Array<{args: string[]; env?: Record<string, string>}> => [{args: [...run.args, '--config', downConfig]}, ...envs.map((env) => ({args: run.args, env}))])
    await mapLimit(variants, 4, async (options) => {
      const result = await runCli(options.args, {cwd, env: options.env, timeoutMs: 20_000})
      const found = leaked(`${result.stdout}${result.stderr}`)
      if (found.length > 0) leaks.push(`${options.args.join(' ')} (exit ${result.code}): ${found.join(', ')}`)
    })
    expect(leaks).toEqual([])
  }, 240_000)

  it.each([
    ['URL forms, pg ssl key and passphrase, mysql2 password1/passwordSha1, connectionString', () => formsFile],
    ['an ipc.redis options object with password and sentinelPassword', () => objectFile],
  ])(
    'every secret form stays out of every command (%s)',
    async (_what, file) => {
      const leaks: string[] = []
      await mapLimit(runs, 4, async (run) => {
        const result = await runCli(run.id === 'demo' ? run.args : [...run.args, '--config', file()], {cwd, timeoutMs: 30_000})
        const found = leaked(`${result.stdout}${result.stderr}`)
        if (found.length > 0) leaks.push(`${run.args.join(' ')} (exit ${result.code}): ${found.join(', ')}`)
      })
      expect(leaks).toEqual([])
      // The commands really ran against the services (a config that failed to load would prove nothing).
      const status = await runCli(['status', '--json', '--config', file()], {cwd})
      expect(status.code).toBe(0)
      expect(JSON.parse(status.stdout).target).toMatch(/^redis:\/\/default:\*\*\*@/)
      const get = await runCli(['get', posts, '1', 'views', '--json', '--config', file()], {cwd})
      expect(get.code).toBe(0)
      expect(JSON.parse(get.stdout)).toMatchObject({table: posts, column: 'views', pending: 0})
      const shown = JSON.parse((await runCli(['config', '--json', '--config', file()], {cwd})).stdout)
      expect(shown.config.connections.tls.connection.ssl).toEqual({key: '***', passphrase: '***', rejectUnauthorized: false})
      expect(shown.config.connections.my.connection).toMatchObject({password1: '***', passwordSha1: '***'})
      expect(shown.connections.find((c: {name: string}) => c.name === 'slashy').target).toBe(`postgres://app:***@${new URL(urls.postgres).host}/test`)
    },
    240_000,
  )

  it('a config that fails validation does not echo its passwords', async () => {
    const bad = join(cwd, 'bad.json')
    writeFileSync(bad, JSON.stringify({ipc: {driver: 'redis', redis: `redis://u:${FORMS.slashy}@h:1`, prefix: 'bad prefix!'}, connections: {default: `ftp://u:${FORMS.pgQuery}@h/x`}}))
    for (const args of [['config'], ['config', '--json'], ['status']]) {
      const result = await runCli([...args, '--config', bad], {cwd})
      expect(result.code).toBe(2)
      expect(leaked(`${result.stdout}${result.stderr}`)).toEqual([])
    }
  })
})
