import {mkdtempSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import type {WriteBuffer} from '../../src/core/buffer/write-buffer.js'
import {createLogTable, createPostsTable, dialectsUp, openTestDb, type TestDb} from '../support/db.js'
import {cleanRedisPrefix, driversUp, openEngine} from '../support/engine.js'
import {runCli} from '../support/cli.js'
import {uniquePrefix, urls} from '../support/services.js'

const up = driversUp.redis && dialectsUp.postgres

/**
 * Typos never pass as success: every command that names tables, connections, streams or dead
 * letters refuses a name it cannot find (exit 2, with the closest names), and takes several
 * tables as `--table a --table b` or `--table a,b`.
 */
describe.skipIf(!up)('names an operator types, against redis + postgres', () => {
  const prefix = uniquePrefix()
  const posts = `${prefix}_posts`
  const log = `${prefix}_log`
  const idle = `${prefix}_idle`
  const ghost = `${prefix}_ghost`
  let db: TestDb
  let wb: WriteBuffer
  let cwd: string
  const wbc = (...args: string[]) => runCli(args, {cwd})
  const views = async () => Number((await db.knex(posts).sum({n: 'views'}))[0].n)
  const usage = (result: {code: number; stdout: string}) => {
    expect(result.code).toBe(2)
    return JSON.parse(result.stdout).error as {code: string; message: string; exitCode: number}
  }

  beforeAll(async () => {
    db = await openTestDb('postgres')
    await createPostsTable(db, posts, 10)
    await createLogTable(db, log)
    await createLogTable(db, idle)
    cwd = mkdtempSync(join(tmpdir(), 'wbc-targets-'))
    const config = {ipc: {driver: 'redis', redis: urls.redis, prefix}, connections: {default: urls.postgres}}
    writeFileSync(join(cwd, 'wbc.config.json'), JSON.stringify(config))
    wb = await openEngine(config as never)
    for (let id = 1; id <= 4; id++) await wb.table(posts).where(id).increment('views', id)
    await wb.table(log).insert([{user_id: 1, action: 'a', seq: 1}])
    // Pending for a table the database does not have: known through the state alone.
    await wb.table(ghost).insert([{user_id: 1, action: 'x', seq: 1}])
  })
  afterAll(async () => {
    await wb?.close()
    await db?.cleanup()
    await cleanRedisPrefix(prefix)
  })

  it('flush refuses an unknown table (exit 2, the closest names) and flushes nothing', async () => {
    const typo = await wbc('flush', '--table', `${prefix}_post`, '--json')
    expect(usage(typo)).toMatchObject({code: 'UNKNOWN_TABLE', exitCode: 2})
    expect(JSON.parse(typo.stdout).error.message).toContain(`did you mean "${posts}"`)
    const human = await wbc('flush', '--table', 'nosuch_table')
    expect(human.code).toBe(2)
    expect(human.stderr).toContain('unknown table "nosuch_table"')
    expect(human.stdout).not.toContain('nothing to flush')
    // One unknown name among known ones: the whole command is refused before anything is claimed.
    expect(usage(await wbc('flush', '--table', `${posts},nosuch_table`, '--json')).code).toBe('UNKNOWN_TABLE')
    expect(usage(await wbc('flush', '--dry-run', '--table', 'nosuch_table', '--json')).code).toBe('UNKNOWN_TABLE')
    expect(await views()).toBe(0)
  })

  it('a name that is not an identifier is a usage error on every command', async () => {
    for (const args of [
      ['flush', '--table', 'bad-name'],
      ['flush', '--table', ''],
      ['flush', '--table', `${posts},`],
      ['flush', '--dry-run', '--table', 'bad-name'],
      ['status', '--table', 'bad-name'],
      ['status', '--connection', 'bad name'],
      ['pending', '--table', 'x;drop'],
      ['deadletter', 'list', '--table', 'bad-name'],
      ['get', 'bad-name', '1', 'views'],
    ]) {
      const result = await wbc(...args, '--json')
      expect(result.code, args.join(' ')).toBe(2)
      expect(JSON.parse(result.stdout).error.code, args.join(' ')).toBe('INVALID_ARGUMENT')
    }
    expect(await views()).toBe(0)
  })

  it('status, pending and dead letters refuse an unknown table or connection: a misspelled health check fails', async () => {
    const status = await wbc('status', '--table', 'nosuch', '--max-pending', '1000')
    expect(status.code).toBe(2)
    expect(status.stdout).not.toContain('nothing pending')
    const conn = usage(await wbc('status', '--connection', 'defualt', '--json'))
    expect(conn).toMatchObject({code: 'UNKNOWN_CONNECTION'})
    expect(conn.message).toContain('did you mean "default"')
    expect(usage(await wbc('pending', '--table', `${prefix}_lgo`, '--json')).message).toContain(`did you mean "${log}"`)
    expect(usage(await wbc('deadletter', 'list', '--table', 'nosuch', '--json')).code).toBe('UNKNOWN_TABLE')
    expect(usage(await wbc('deadletter', 'drop', '--table', 'nosuch', '--all', '--yes', '--json')).code).toBe('UNKNOWN_TABLE')
    // A table the database has, with nothing pending, is fine; so is one only the state knows.
    const quiet = await wbc('status', '--table', idle, '--json')
    expect(quiet.code).toBe(0)
    expect(JSON.parse(quiet.stdout).tables).toEqual([])
    const onlyInState = await wbc('status', '--table', ghost, '--json')
    expect(onlyInState.code).toBe(0)
    expect(JSON.parse(onlyInState.stdout).tables).toEqual([expect.objectContaining({table: ghost, inserts: {rows: 1}})])
  })

  it('--table takes several names, repeated or as a comma list, on every command', async () => {
    for (const args of [
      ['--table', posts, '--table', log],
      ['--table', `${posts},${log}`],
      ['-t', `${log},${posts}`],
    ]) {
      const status = await wbc('status', ...args, '--json')
      expect(status.code).toBe(0)
      expect(JSON.parse(status.stdout).tables.map((t: {table: string}) => t.table)).toEqual([log, posts])
      const pending = JSON.parse((await wbc('pending', ...args, '--json')).stdout)
      expect(new Set(pending.entries.map((e: {table: string}) => e.table))).toEqual(new Set([log, posts]))
      const plan = JSON.parse((await wbc('flush', '--dry-run', ...args, '--json')).stdout)
      expect(plan.tables.map((t: {table: string}) => t.table)).toEqual([log, posts])
    }
    const flushed = await wbc('flush', '--table', `${posts},${log}`, '--json')
    expect(flushed.code).toBe(0)
    expect(JSON.parse(flushed.stdout).tables).toEqual([expect.objectContaining({table: log, inserts: 1}), expect.objectContaining({table: posts, counters: 4})])
    expect(await views()).toBe(10)
    // The ghost table was not named: still pending.
    expect(JSON.parse((await wbc('status', '--json')).stdout).tables.map((t: {table: string}) => t.table)).toEqual([ghost])
  })

  it('dead letter ids that do not exist are exit 2 naming them, and nothing is changed', async () => {
    await wb.table(posts).where(999).increment('views', 5)
    expect((await wbc('flush', '--table', posts)).code).toBe(5)
    const [letter] = JSON.parse((await wbc('deadletter', 'list', '--table', posts, '--json')).stdout).deadLetters
    const drop = await wbc('deadletter', 'drop', '--id', 'nonexistent', '--id', letter.id, '--yes')
    expect(drop.code).toBe(2)
    expect(drop.stderr).toContain('no dead letter "nonexistent"')
    expect(drop.stdout).not.toContain('dropped')
    const retry = usage(await wbc('deadletter', 'retry', '--id', 'nonexistent', '--json'))
    expect(retry).toMatchObject({code: 'NO_SUCH_DEAD_LETTER'})
    expect(retry.message).toContain('"nonexistent"')
    expect(JSON.parse((await wbc('deadletter', 'list', '--json')).stdout).deadLetters.map((l: {id: string}) => l.id)).toEqual([letter.id])
    expect(JSON.parse((await wbc('deadletter', 'drop', '--id', letter.id, '--yes', '--json')).stdout)).toEqual({dropped: 1})
  })

  it('compact and get refuse what does not exist, with the closest names', async () => {
    const compact = await wbc('compact', 'nosuch', '--dry-run', '--max-count', '1')
    expect(compact.code).toBe(2)
    expect(compact.stderr).toContain('no stream "nosuch"')
    expect(compact.stdout).not.toContain('kept')
    // A queue of a misspelled table: checked like --table.
    expect(usage(await wbc('compact', `q:default:${prefix}_gost`, '--dry-run', '--max-count', '1', '--json')).message).toContain(`did you mean "${ghost}"`)
    // A stream that exists, and the event stream or a known table's queue while empty, are fine.
    expect((await wbc('compact', `q:default:${ghost}`, '--dry-run', '--max-count', '1')).code).toBe(0)
    expect((await wbc('compact', `q:default:${log}`, '--dry-run', '--max-count', '1')).code).toBe(0)
    const get = usage(await wbc('get', `${prefix}_psts`, '1', 'views', '--json'))
    expect(get).toMatchObject({code: 'UNKNOWN_TABLE'})
    expect(get.message).toContain(`did you mean "${posts}"`)
  })
})
