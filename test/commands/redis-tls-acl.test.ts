import {mkdtempSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {createPostsTable, dialectsUp, openTestDb, type TestDb} from '../support/db.js'
import {runCli} from '../support/cli.js'
import {openEngine} from '../support/engine.js'
import {uniquePrefix, urls} from '../support/services.js'
import {TlsRedis} from '../support/tls-redis.js'

const APP_PW = `app-pw/${Math.random().toString(36).slice(2, 8)}#x`
const READER_PW = `reader-pw-${Math.random().toString(36).slice(2, 8)}`
const WRONG_PW = `wrong-pw-${Math.random().toString(36).slice(2, 8)}`
const SECRETS = [APP_PW, encodeURIComponent(APP_PW), READER_PW, WRONG_PW]

const tls = dialectsUp.postgres
  ? await TlsRedis.start([
      {name: 'app', password: APP_PW, rules: '~* &* +@all'},
      // May read, not write or run scripts: wbc's flush lease needs EVALSHA.
      {name: 'reader', password: READER_PW, rules: '~* +@read +@connection +info -@scripting -@write'},
    ])
  : null
if (dialectsUp.postgres && !tls) console.warn('\n!!!! SKIPPING REDIS TLS/ACL TESTS: this redis-server cannot start with --tls-port (built without TLS?) !!!!\n')

/** rediss:// and Redis ACL users, against a redis-server of the test's own with TLS and an ACL file. */
describe.skipIf(!tls)('Redis over TLS and with ACL users', () => {
  const server = tls!
  const prefix = uniquePrefix()
  const posts = `${prefix}_posts`
  const app = encodeURIComponent(APP_PW)
  let db: TestDb
  let cwd: string
  const run = async (args: string[], env: Record<string, string> = {}) => {
    const result = await runCli([...args, '--config', join(cwd, 'wbc.config.json')], {cwd, env: {NODE_EXTRA_CA_CERTS: server.caFile, ...env}})
    for (const secret of SECRETS) expect(`${result.stdout}${result.stderr}`, `${args.join(' ')} shows a password`).not.toContain(secret)
    return result
  }
  const json = (text: string) => JSON.parse(text) as Record<string, any>

  beforeAll(async () => {
    db = await openTestDb('postgres')
    await createPostsTable(db, posts, 3)
    cwd = mkdtempSync(join(tmpdir(), 'wbc-tls-'))
    writeFileSync(join(cwd, 'wbc.config.json'), JSON.stringify({ipc: {driver: 'redis', prefix, connectTimeout: 2000}, connections: {default: urls.postgres}}))
  })
  afterAll(async () => {
    await db?.cleanup()
    await server.stop()
  })

  it('rediss:// with an ACL user: buffered through TLS, listed and flushed by wbc with exact totals', async () => {
    // The application side: an options object with the CA given inline.
    const wb = await openEngine({
      ipc: {driver: 'redis', prefix, redis: {host: '127.0.0.1', port: server.tlsPort, username: 'app', password: APP_PW, tls: {ca: server.caPem, servername: 'localhost'}}},
      connections: {default: urls.postgres},
    } as never)
    try {
      await wb.table(posts).where(2).increment('views', 7)
    } finally {
      await wb.disconnect() // Leaves the delta pending (close would flush it).
    }
    const env = {WBC_REDIS_URL: `rediss://app:${app}@127.0.0.1:${server.tlsPort}`}
    const status = await run(['status', '--json'], env)
    expect(status.code).toBe(0)
    expect(json(status.stdout).target).toBe(`rediss://app:***@127.0.0.1:${server.tlsPort}`)
    expect(json(status.stdout).tables).toMatchObject([{table: posts, counters: {keys: 1, rows: 1}}])
    const flush = await run(['flush', '--json'], env)
    expect(flush.code).toBe(0)
    expect((await db.knex(posts).where({id: 2}).first()).views).toBe(7)
    const doctor = await run(['doctor'], env)
    expect(doctor.stdout).toContain(`ok   redis: reachable at rediss://app:***@127.0.0.1:${server.tlsPort}`)
  })

  it('redis:// with an ACL user on the plain port', async () => {
    const result = await run(['status', '--json'], {WBC_REDIS_URL: `redis://app:${app}@127.0.0.1:${server.port}`})
    expect(result.code).toBe(0)
    expect(json(result.stdout).target).toBe(`redis://app:***@127.0.0.1:${server.port}`)
  })

  it.each([
    ['a wrong password', () => `rediss://app:${WRONG_PW}@127.0.0.1:${server.tlsPort}`, /WRONGPASS/],
    ['an unknown user', () => `redis://nobody:${WRONG_PW}@127.0.0.1:${server.port}`, /WRONGPASS/],
    ['no credentials', () => `rediss://127.0.0.1:${server.tlsPort}`, /NOAUTH/],
  ])('%s is an authentication failure (exit 3) naming the service, not "unreachable"', async (_what, url, reason) => {
    for (const args of [
      ['status', '--json'],
      ['pending', '--json'],
      ['flush', '--json'],
    ]) {
      const result = await run(args, {WBC_REDIS_URL: url()})
      expect(result.code).toBe(3)
      const {error} = json(result.stdout)
      expect(error.code).toBe('AUTH_FAILED')
      expect(error.message).toMatch(/^Redis at rediss?:\/\/[^ ]+ refused the credentials \(authentication failed\): /)
      expect(error.message).toMatch(reason)
      expect(error.message).not.toContain('unreachable')
    }
    const human = await run(['status'], {WBC_REDIS_URL: url()})
    expect(human.stderr).toContain('authentication failed')
    expect(human.stderr).toContain('Hint: Check the user name and password for Redis')
  })

  it('an ACL user without a permission wbc needs: exit 3 PERMISSION_DENIED, not a bug', async () => {
    const result = await run(['flush', '--json'], {WBC_REDIS_URL: `rediss://reader:${READER_PW}@127.0.0.1:${server.tlsPort}`})
    expect(result.code).toBe(3)
    expect(json(result.stdout).error).toMatchObject({code: 'PERMISSION_DENIED', exitCode: 3})
    expect(json(result.stdout).error.message).toMatch(/NOPERM/)
  })

  it('an untrusted certificate is a TLS error; plain redis:// to a TLS port says rediss:// may be needed', async () => {
    const untrusted = await run(['status', '--json'], {WBC_REDIS_URL: `rediss://app:${app}@127.0.0.1:${server.tlsPort}`, NODE_EXTRA_CA_CERTS: ''})
    expect(untrusted.code).toBe(3)
    expect(json(untrusted.stdout).error.message).toMatch(/is unreachable: TLS: .*certificate/)
    expect(json(untrusted.stdout).error.hint).toMatch(/NODE_EXTRA_CA_CERTS|tls\.ca/)
    const plain = await run(['status', '--json'], {WBC_REDIS_URL: `redis://app:${app}@127.0.0.1:${server.tlsPort}`})
    expect(plain.code).toBe(3)
    expect(json(plain.stdout).error.code).toBe('SERVICE_UNAVAILABLE')
    expect(json(plain.stdout).error.hint).toContain('rediss://')
  })

  it('the options object with an inline CA: wbc connects, and config shows neither password nor PEM', async () => {
    const file = join(cwd, 'object.json')
    writeFileSync(
      file,
      JSON.stringify({
        ipc: {driver: 'redis', prefix, redis: {host: '127.0.0.1', port: server.tlsPort, username: 'app', password: APP_PW, tls: {ca: server.caPem, servername: 'localhost'}}},
        connections: {default: urls.postgres},
      }),
    )
    const status = await runCli(['status', '--json', '--config', file], {cwd})
    expect(status.code).toBe(0)
    expect(json(status.stdout).target).toBe(`rediss://app:***@127.0.0.1:${server.tlsPort}`)
    const config = await runCli(['config', '--json', '--config', file], {cwd})
    expect(json(config.stdout).config.ipc.redis).toMatchObject({password: '***', tls: {ca: '-----BEGIN CERTIFICATE-----***-----END CERTIFICATE-----\n'}})
    for (const secret of SECRETS) expect(config.stdout + status.stdout).not.toContain(secret)
  })
})
