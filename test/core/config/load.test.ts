import {mkdirSync, mkdtempSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {describe, expect, it} from 'vitest'

import {loadConfig, parseConfig} from '../../../src/core/config/load.js'
import {maskSecrets, maskText} from '../../../src/core/config/mask.js'
import {resolveConnection} from '../../../src/core/config/connections.js'

const dir = () => mkdtempSync(join(tmpdir(), 'wbc-config-'))
const write = (folder: string, name: string, value: unknown) => {
  const file = join(folder, name)
  writeFileSync(file, typeof value === 'string' ? value : JSON.stringify(value))
  return file
}

describe('loadConfig', () => {
  it('falls back to the embedded default: memory driver, SQLite file and state under ./.wbc', () => {
    const cwd = dir()
    const loaded = loadConfig({cwd, env: {}})
    expect(loaded.source).toBe('defaults')
    expect(loaded.format).toBe('wbc')
    expect(loaded.file).toBeUndefined()
    expect(loaded.config).toEqual({
      ipc: {
        driver: 'memory',
        prefix: 'wb',
        socket: join(cwd, '.wbc/wbc.sock'),
        requestTimeout: 5000,
        connectTimeout: 3000,
        maxRequestBytes: 16 * 1024 * 1024,
        maxConnections: 256,
        idleTimeout: 300_000,
        allowForeignOwner: false,
      },
      connections: {default: `sqlite:${join(cwd, '.wbc/wbc.sqlite')}`},
      buffer: {
        flushInterval: 5000,
        checkpointInterval: 30000,
        maxQueueSize: 10000,
        primaryKey: 'id',
        insertBatchSize: 1000,
        statementTimeoutMs: 5000,
        checkpointPath: join(cwd, '.wbc/checkpoint.lmdb'),
      },
      streams: {},
    })
  })

  it('discovers --config, then WBC_CONFIG, then ./wbc.config.json, then ./odac.json', () => {
    const cwd = dir()
    write(cwd, 'odac.json', {buffer: {flushInterval: 1}})
    expect(loadConfig({cwd, env: {}})).toMatchObject({source: 'discovered', format: 'odac', config: {buffer: {flushInterval: 1}}})
    write(cwd, 'wbc.config.json', {buffer: {flushInterval: 2}})
    expect(loadConfig({cwd, env: {}})).toMatchObject({source: 'discovered', format: 'wbc', config: {buffer: {flushInterval: 2}}})
    const envFile = write(dir(), 'env.json', {buffer: {flushInterval: 3}})
    expect(loadConfig({cwd, env: {WBC_CONFIG: envFile}})).toMatchObject({source: 'env', file: envFile, config: {buffer: {flushInterval: 3}}})
    const flagFile = write(dir(), 'flag.json', {buffer: {flushInterval: 4}})
    expect(loadConfig({cwd, configPath: flagFile, env: {WBC_CONFIG: envFile}})).toMatchObject({source: 'flag', config: {buffer: {flushInterval: 4}}})
  })

  it('resolves relative paths against the config file folder', () => {
    const folder = dir()
    mkdirSync(join(folder, 'conf'))
    const file = write(join(folder, 'conf'), 'wbc.config.json', {
      ipc: {socket: 'run/app.sock'},
      connections: {default: 'sqlite:data/app.sqlite', other: {client: 'better-sqlite3', connection: {filename: 'x.db'}}},
      buffer: {checkpointPath: 'cp'},
    })
    const {config} = loadConfig({cwd: folder, configPath: file, env: {}})
    expect(config.ipc.socket).toBe(join(folder, 'conf/run/app.sock'))
    expect(config.buffer.checkpointPath).toBe(join(folder, 'conf/cp'))
    expect(config.connections.default).toBe(`sqlite:${join(folder, 'conf/data/app.sqlite')}`)
    expect(config.connections.other).toMatchObject({connection: {filename: join(folder, 'conf/x.db')}})
  })

  it('lets WBC_REDIS_URL and DATABASE_URL override the file', () => {
    const cwd = dir()
    write(cwd, 'wbc.config.json', {connections: {default: 'sqlite:a.db', analytics: 'postgres://h/db'}})
    const loaded = loadConfig({cwd, env: {WBC_REDIS_URL: 'redis://127.0.0.1:6390', DATABASE_URL: 'mysql://root@127.0.0.1/test'}})
    expect(loaded.overrides).toEqual(['WBC_REDIS_URL', 'DATABASE_URL'])
    expect(loaded.config.ipc).toMatchObject({driver: 'redis', redis: 'redis://127.0.0.1:6390'})
    expect(loaded.config.connections).toEqual({default: 'mysql://root@127.0.0.1/test', analytics: 'postgres://h/db'})
    // A driver chosen in the file stays chosen.
    write(cwd, 'wbc.config.json', {ipc: {driver: 'memory'}})
    expect(loadConfig({cwd, env: {WBC_REDIS_URL: 'redis://x:1'}}).config.ipc.driver).toBe('memory')
  })

  it('reads ODAC sections as ODAC writes them', () => {
    const cwd = dir()
    write(cwd, 'odac.json', {
      ipc: {driver: 'redis', redis: 'cache'},
      database: {
        redis: {cache: {url: 'redis://:pw@10.0.0.5:6379'}},
        main: {type: 'postgres', host: 'db', port: 5433, user: 'app', password: 'pw', database: 'shop', connectionLimit: 7},
        stats: {type: 'sqlite', filename: 'stats.db'},
        legacy: {type: 'mysql', host: 'm', user: 'u', database: 'd'},
      },
      buffer: {flushInterval: 2000, checkpointInterval: 9000, maxQueueSize: 50, primaryKey: 'uid'},
      other: {ignored: true},
    })
    const {config} = loadConfig({cwd, env: {}})
    expect(config.ipc).toMatchObject({driver: 'redis', redis: 'redis://:pw@10.0.0.5:6379'})
    expect(config.connections.main).toEqual({client: 'pg', connection: {host: 'db', port: 5433, user: 'app', password: 'pw', database: 'shop'}, pool: {min: 0, max: 7}})
    expect(config.connections.stats).toEqual({client: 'better-sqlite3', connection: {filename: join(cwd, 'stats.db')}, useNullAsDefault: true})
    expect(config.connections.legacy).toMatchObject({client: 'mysql2'})
    expect(config.connections.default).toEqual(config.connections.main)
    expect(config.buffer).toMatchObject({flushInterval: 2000, checkpointInterval: 9000, maxQueueSize: 50, primaryKey: 'uid', checkpointPath: join(cwd, 'storage/sessions.db')})
  })

  it('reads a single ODAC database section as the default connection', () => {
    const cwd = dir()
    write(cwd, 'odac.json', {database: {type: 'mysql', host: '127.0.0.1', user: 'root', database: 'test'}})
    expect(loadConfig({cwd, env: {}}).config.connections).toEqual({default: {client: 'mysql2', connection: {host: '127.0.0.1', user: 'root', database: 'test'}}})
  })
})

describe('config errors name the file, the path and what was expected', () => {
  const fails = (value: unknown) => {
    const cwd = dir()
    const file = write(cwd, 'wbc.config.json', value)
    try {
      loadConfig({cwd, env: {}})
    } catch (error) {
      return {error: error as Error & Record<string, unknown>, file}
    }
    throw new Error('expected a ConfigError')
  }

  it('for a wrong type', () => {
    const {error, file} = fails({buffer: {flushInterval: '5s'}})
    expect(error).toMatchObject({name: 'ConfigError', exitCode: 2, file, path: 'buffer.flushInterval'})
    expect(error.message).toBe(`${file}: buffer.flushInterval: expected an interval in milliseconds (a positive integer)`)
    expect(error.hint).toMatch(/README/)
  })

  it('for an unknown driver and unknown fields', () => {
    expect(fails({ipc: {driver: 'mongo'}}).error.message).toMatch(/ipc\.driver: expected "memory" or "redis"$/)
    expect(fails({ipc: {drvier: 'redis'}}).error.message).toMatch(/ipc: unknown field "drvier"$/)
  })

  it('for the redis driver without a target, a bad prefix, a bad connection name', () => {
    expect(fails({ipc: {driver: 'redis'}}).error).toMatchObject({path: 'ipc.redis'})
    expect(fails({ipc: {prefix: 'wb:x'}}).error.message).toMatch(/ipc\.prefix: expected .*no ":"/)
    expect(fails({connections: {default: 'sqlite:a', 'bad name': 'sqlite:b'}}).error.message).toMatch(/connections\.bad name: is not a valid name: use letters/)
    expect(fails({connections: {other: 'sqlite:b'}}).error).toMatchObject({path: 'connections.default'})
  })

  it('for invalid JSON and a missing --config file', () => {
    expect(fails('{"ipc": {,}').error.message).toMatch(/wbc\.config\.json:1:10: not valid JSON: expected a field name in double quotes but found ","$/)
    expect(() => loadConfig({cwd: dir(), configPath: 'nope.json', env: {}})).toThrow(/nope\.json \(from --config\) does not exist/)
    expect(() => loadConfig({cwd: dir(), env: {WBC_CONFIG: '/nope/x.json'}})).toThrow(/\(from WBC_CONFIG\) does not exist/)
  })

  it('never with a password in the message', () => {
    const {error} = fails({ipc: {driver: 'redis', redis: 'http://u:topsecret@h'}})
    expect(error.message).not.toContain('topsecret')
  })
})

describe('masking and connections', () => {
  it('masks passwords in URLs and password fields', () => {
    expect(maskText('postgres://app:s3cr3t@db:5432/shop')).toBe('postgres://app:***@db:5432/shop')
    expect(maskText('redis://:pw@h:6379')).toBe('redis://:***@h:6379')
    expect(maskText('redis://h:6379')).toBe('redis://h:6379')
    expect(maskSecrets(parseConfig({connections: {default: {client: 'pg', connection: {host: 'h', password: 'pw'}}}}).connections)).toEqual({
      default: {client: 'pg', connection: {host: 'h', password: '***'}},
    })
  })

  it('turns URLs into knex configs with a dialect and a masked label', () => {
    expect(resolveConnection('default', 'postgres://u:pw@h:5432/db')).toMatchObject({dialect: 'postgres', knex: {client: 'pg'}, target: 'postgres://u:***@h:5432/db'})
    expect(resolveConnection('default', 'mariadb://root@h/test')).toMatchObject({dialect: 'mysql', knex: {client: 'mysql2', connection: 'mysql://root@h/test'}})
    expect(resolveConnection('default', 'sqlite:/tmp/a.db')).toMatchObject({dialect: 'sqlite', knex: {client: 'better-sqlite3', connection: {filename: '/tmp/a.db'}}})
    expect(resolveConnection('x', {client: 'mysql2', connection: {host: 'h', user: 'u', password: 'p', database: 'd'}}).target).toBe('mysql://u:***@h/d')
    expect(() => resolveConnection('x', 'mongodb://h/db')).toThrow(/unsupported URL/)
  })
})
