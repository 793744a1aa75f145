import {mkdtempSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {typedDatabaseError} from '../../src/core/sql/errors.js'
import {createPostsTable, dialectsUp, openTestDb, type TestDb} from '../support/db.js'
import {runCli} from '../support/cli.js'
import {cleanRedisPrefix, driversUp} from '../support/engine.js'
import {uniquePrefix, urls} from '../support/services.js'

const PW = `db-pw-${Math.random().toString(36).slice(2, 8)}`
const json = (text: string) => JSON.parse(text) as {error: {code: string; message: string; hint: string; exitCode: number}}

describe.skipIf(!driversUp.redis || !dialectsUp.postgres)('wbc get: a key, table or column the database rejects is a usage error', () => {
  const prefix = uniquePrefix()
  const posts = `${prefix}_posts`
  let db: TestDb
  let cwd: string
  beforeAll(async () => {
    db = await openTestDb('postgres')
    await createPostsTable(db, posts, 2)
    cwd = mkdtempSync(join(tmpdir(), 'wbc-dberr-'))
    writeFileSync(join(cwd, 'wbc.config.json'), JSON.stringify({ipc: {driver: 'redis', redis: urls.redis, prefix}, connections: {default: urls.postgres}}))
  })
  afterAll(async () => {
    await db?.cleanup()
    await cleanRedisPrefix(prefix)
  })

  it.each([
    ['a non-integer key', 'abc', 'views', 'where'],
    ['a fractional key', '1.5', 'views', 'where'],
    ['an out-of-range key', '99999999999', 'views', 'where'],
    ['a JSON key of the wrong type', '{"id":"x"}', 'views', 'where'],
    ['an unknown column', '1', 'no_such_column', 'column'],
  ])('%s exits 2 INVALID_ARGUMENT, not 1 "a bug"', async (_what, where, column, argument) => {
    const result = await runCli(['get', posts, where, column, '--json'], {cwd})
    expect(result.code).toBe(2)
    expect(json(result.stdout).error).toMatchObject({code: 'INVALID_ARGUMENT', exitCode: 2})
    expect(json(result.stdout).error.message.startsWith(`${argument}: `)).toBe(true)
    const human = await runCli(['get', posts, where, column], {cwd})
    expect(human.code).toBe(2)
    expect(human.stderr).not.toContain('This is a bug')
  })

  it('an unknown table exits 2 naming it', async () => {
    const result = await runCli(['get', `${prefix}_nope`, '1', 'views', '--json'], {cwd})
    expect(result.code).toBe(2)
    // Checked like --table: the unknown name, with the closest tables when there are any.
    expect(json(result.stdout).error).toMatchObject({code: 'UNKNOWN_TABLE', exitCode: 2})
    expect(json(result.stdout).error.message).toContain(`unknown table "${prefix}_nope"`)
  })

  it('a valid key still reads its total', async () => {
    const result = await runCli(['get', posts, '2', 'views', '--json'], {cwd})
    expect(result.code).toBe(0)
    expect(JSON.parse(result.stdout)).toMatchObject({base: 0, total: 0})
  })

  it('PostgreSQL sslmode=require: works where the server offers TLS, else exit 3 naming TLS, never the password', async () => {
    const ssl = String((await db.knex.raw('SHOW ssl')).rows[0].ssl)
    const pg = new URL(urls.postgres)
    pg.password = PW
    pg.searchParams.set('sslmode', 'require')
    const env = {DATABASE_URL: pg.toString()}
    const get = await runCli(['get', posts, '1', 'views', '--json'], {cwd, env})
    const doctor = await runCli(['doctor', '--json'], {cwd, env})
    for (const result of [get, doctor]) expect(`${result.stdout}${result.stderr}`).not.toContain(PW)
    if (ssl === 'on') {
      expect(get.code).toBe(0)
      return
    }
    console.warn('PostgreSQL at 127.0.0.1 has ssl off: checking that sslmode=require fails clearly')
    expect(get.code).toBe(3)
    expect(json(get.stdout).error.code).toBe('SERVICE_UNAVAILABLE')
    expect(json(get.stdout).error.message).toMatch(/^database "default" at postgres:\/\/postgres:\*\*\*@[^ ]+ is unreachable: TLS: .*does not support SSL/)
    expect(json(get.stdout).error.hint).toMatch(/sslmode/)
    expect(doctor.code).toBe(3)
    const check = (JSON.parse(doctor.stdout) as {checks: Array<{name: string; detail: string; fix: string}>}).checks.find((c) => c.name === 'database default')!
    expect(check.detail).toMatch(/TLS: .*does not support SSL/)
    expect(check.fix).toMatch(/sslmode/)
  })
})

describe.skipIf(!driversUp.redis || !dialectsUp.mysql)('a refused database password', () => {
  const prefix = uniquePrefix()
  let cwd: string
  beforeAll(() => {
    cwd = mkdtempSync(join(tmpdir(), 'wbc-dbauth-'))
    const my = new URL(urls.mysql)
    my.password = PW
    writeFileSync(join(cwd, 'wbc.config.json'), JSON.stringify({ipc: {driver: 'redis', redis: urls.redis, prefix}, connections: {default: my.toString()}}))
  })
  afterAll(() => cleanRedisPrefix(prefix))

  it('is an authentication failure (exit 3) naming the database, without the password', async () => {
    const get = await runCli(['get', 'posts', '1', 'views', '--json'], {cwd})
    expect(get.code).toBe(3)
    const {error} = json(get.stdout)
    expect(error.code).toBe('AUTH_FAILED')
    expect(error.message).toMatch(/^database "default" at mysql:\/\/root:\*\*\*@[^ ]+ refused the credentials \(authentication failed\): ER_ACCESS_DENIED_ERROR/)
    const doctor = await runCli(['doctor'], {cwd})
    expect(doctor.code).toBe(3)
    expect(doctor.stdout).toMatch(/FAIL database default: .*authentication failed/)
    expect(doctor.stdout).toContain('fix: Check the user name and password for database "default"')
    for (const result of [get, doctor]) expect(`${result.stdout}${result.stderr}`).not.toContain(PW)
  })
})

describe('typed database errors', () => {
  const db = {name: 'default', target: 'postgres://app:***@db/shop'}
  it('PostgreSQL 28P01 / 28000 and MySQL access denied are authentication failures', () => {
    for (const code of ['28P01', '28000', 'ER_ACCESS_DENIED_ERROR', 'ER_DBACCESS_DENIED_ERROR']) {
      expect(typedDatabaseError(Object.assign(new Error('password authentication failed for user "app"'), {code}), db)).toMatchObject({code: 'AUTH_FAILED', exitCode: 3})
    }
  })
  it('a lost connection is unreachable (3); anything unknown stays as it is', () => {
    expect(typedDatabaseError(Object.assign(new Error('connect ECONNREFUSED'), {code: 'ECONNREFUSED'}), db)).toMatchObject({code: 'SERVICE_UNAVAILABLE', exitCode: 3})
    const other = new Error('something else')
    expect(typedDatabaseError(other, db)).toBe(other)
  })
})
