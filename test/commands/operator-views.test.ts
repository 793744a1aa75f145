import {spawn} from 'node:child_process'
import {mkdtempSync, readFileSync, writeFileSync} from 'node:fs'
import {createServer} from 'node:net'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import type {WriteBuffer} from '../../src/core/buffer/write-buffer.js'
import {dialectsUp, openTestDb, type TestDb} from '../support/db.js'
import {cleanRedisPrefix, driversUp, openEngine} from '../support/engine.js'
import {runCli} from '../support/cli.js'
import {until} from '../support/spawn.js'
import {uniquePrefix, urls} from '../support/services.js'

const bin = join(import.meta.dirname, '..', '..', 'bin', 'run.js')

/** A port nothing listens on: taken, then released. */
async function closedPort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const {port} = server.address() as {port: number}
  await new Promise((resolve) => server.close(resolve))
  return port
}

/** Runs the built CLI in the background, collecting its output. */
function background(args: string[], cwd: string) {
  const child = spawn(process.execPath, [bin, ...args], {cwd, env: {...process.env, NO_COLOR: '1'}, stdio: ['ignore', 'pipe', 'pipe']})
  const out = {stdout: '', stderr: ''}
  child.stdout.on('data', (chunk) => (out.stdout += chunk))
  child.stderr.on('data', (chunk) => (out.stderr += chunk))
  const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)))
  return {child, out, exit}
}

const up = driversUp.redis && dialectsUp.postgres

describe.skipIf(!up)('dead letters, streams and metrics as an operator reads them (redis + postgres)', () => {
  const prefix = uniquePrefix()
  const table = `${prefix}_activity`
  let db: TestDb
  let wb: WriteBuffer
  let cwd: string
  const wbc = (...args: string[]) => runCli(args, {cwd})
  let flushStatus = ''

  beforeAll(async () => {
    db = await openTestDb('postgres')
    await db.knex.schema.dropTableIfExists(table)
    await db.knex.raw(`create table "${table}" (id serial primary key, amount integer not null, note text, constraint "${table}_amount_check" check (amount > 0))`)
    db.created.push(table)
    cwd = mkdtempSync(join(tmpdir(), 'wbc-views-'))
    const config = {ipc: {driver: 'redis', redis: urls.redis, prefix}, connections: {default: urls.postgres}}
    writeFileSync(join(cwd, 'wbc.config.json'), JSON.stringify(config))
    wb = await openEngine(config as never)
    await wb.table(table).insert([
      {amount: 5, note: 'a'},
      {amount: -1, note: 'refused'},
      {amount: 7, note: 'c'},
    ])
    flushStatus = (await wb.flush()).status
    // A dead letter written before the reason was kept apart: the statement in front of the error.
    await wb.ipc.sadd(`${prefix}:idx:deadletters`, `default:${table}`)
    await wb.ipc.hset(`${prefix}:dl:default:${table}`, {
      'old-batch:0': {
        id: 'old-batch:0',
        connection: 'default',
        table,
        kind: 'insert',
        entry: {row: {amount: -9}},
        at: 1,
        error: `23514: insert into "${table}" ("amount") values ($1) - new row for relation "${table}" violates check constraint "${table}_amount_check"`,
      },
    })
  })
  afterAll(async () => {
    await wb?.close()
    await db?.cleanup()
    await cleanRedisPrefix(prefix)
  })

  it('deadletter list shows the reason first and pages with --limit/--cursor', async () => {
    expect(flushStatus).toBe('partial')
    expect(await db.knex(table).count({n: '*'})).toEqual([{n: '2'}])
    const plain = await wbc('deadletter', 'list')
    expect(plain.code).toBe(0)
    const [head, ...rows] = plain.stdout.trim().split('\n')
    expect(head.split(/\s{2,}/)).toEqual(['id', 'table', 'kind', 'reason', 'at', 'entry'])
    expect(rows).toHaveLength(2)
    for (const row of rows) {
      expect(row).toContain(`23514 (${table}_amount_check): new row for relation`)
      expect(row).not.toContain('insert into')
    }
    const first = JSON.parse((await wbc('deadletter', 'list', '--limit', '1', '--json')).stdout)
    expect(first).toMatchObject({total: 2, cursor: 1})
    expect(first.deadLetters.map((l: {id: string}) => l.id)).toEqual(['old-batch:0'])
    const second = JSON.parse((await wbc('deadletter', 'list', '--limit', '1', '--cursor', '1', '--json')).stdout)
    expect(second).toMatchObject({total: 2, cursor: null})
    expect(second.deadLetters).toHaveLength(1)
    expect(second.deadLetters[0].entry).toEqual({row: {amount: -1, note: 'refused'}})
  })

  it('deadletter show gives the entry, the reason in parts, the statement and the attempts; an old record too', async () => {
    const list = JSON.parse((await wbc('deadletter', 'list', '--json')).stdout)
    const id = list.deadLetters.find((l: {id: string}) => l.id !== 'old-batch:0').id
    const shown = JSON.parse((await wbc('deadletter', 'show', id, '--json')).stdout).deadLetter
    expect(shown.reason).toEqual({
      code: '23514',
      constraint: `${table}_amount_check`,
      message: `new row for relation "${table}" violates check constraint "${table}_amount_check"`,
      detail: expect.stringMatching(/^Failing row contains \(\d+, -1, refused\)\.$/),
    })
    expect(shown.error).toBe(`23514 (${table}_amount_check): new row for relation "${table}" violates check constraint "${table}_amount_check"`)
    expect(shown.statement).toMatch(new RegExp(`^insert into "${table}" `, 'i'))
    expect(shown.statement).not.toContain(' - new row')
    // The batch of 3, its half [1, 3), then the entry alone.
    expect(shown.attempts).toBe(3)
    const human = await wbc('deadletter', 'show', id)
    expect(human.code).toBe(0)
    expect(human.stdout).toMatch(/^code: +23514$/m)
    expect(human.stdout).toMatch(/^attempts: +3$/m)
    expect(human.stdout).toContain('"note": "refused"')

    const old = JSON.parse((await wbc('deadletter', 'show', 'old-batch:0', '--json')).stdout).deadLetter
    expect(old).toMatchObject({
      reason: {code: '23514', constraint: `${table}_amount_check`, message: `new row for relation "${table}" violates check constraint "${table}_amount_check"`},
      statement: `insert into "${table}" ("amount") values ($1)`,
      attempts: null,
      // As stored: a script matching it still matches.
      error: `23514: insert into "${table}" ("amount") values ($1) - new row for relation "${table}" violates check constraint "${table}_amount_check"`,
    })
    expect((await wbc('deadletter', 'show', 'old-batch:0')).stdout).toMatch(/^reason: +new row for relation/m)
    expect((await wbc('deadletter', 'show', 'old-batch:0')).stdout).toMatch(/^attempts: +not recorded$/m)

    const missing = await wbc('deadletter', 'show', 'no-such-batch:4')
    expect(missing.code).toBe(2)
    expect(missing.stderr).toContain('no dead letter no-such-batch:4')
  })

  it('metrics has wbc_up 1, the gauges and _total counters of writes, rows flushed, dead letters and flushes', async () => {
    const {code, stdout} = await wbc('metrics')
    expect(code).toBe(0)
    const labels = `prefix="${prefix}",driver="redis",connection="default",table="${table}"`
    expect(stdout).toContain(`wbc_up{prefix="${prefix}",driver="redis"} 1\n`)
    expect(stdout).toContain(`wbc_dead_letters{${labels}} 2\n`)
    expect(stdout).toContain('# TYPE wbc_writes_total counter\n')
    expect(stdout).toContain(`wbc_writes_total{${labels}} 3\n`)
    expect(stdout).toContain(`wbc_rows_flushed_total{${labels}} 2\n`)
    expect(stdout).toContain(`wbc_dead_lettered_total{${labels}} 1\n`)
    expect(stdout).toContain(`wbc_flushes_total{prefix="${prefix}",driver="redis",status="partial"} 1\n`)
    expect(stdout).toContain(`wbc_flushes_total{prefix="${prefix}",driver="redis",status="ok"} 0\n`)
  })

  it('metrics --serve answers a scrape on 127.0.0.1 until stopped', async () => {
    const server = background(['metrics', '--serve', '0'], cwd)
    await until(() => /serving metrics on http:\/\/127\.0\.0\.1:\d+\/metrics/.test(server.out.stderr), 15_000, 'the server to listen')
    const url = /(http:\/\/127\.0\.0\.1:\d+)\/metrics/.exec(server.out.stderr)![1]
    const scrape = await fetch(`${url}/metrics`)
    expect(scrape.status).toBe(200)
    expect(scrape.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8')
    const body = await scrape.text()
    expect(body).toContain(`wbc_up{prefix="${prefix}",driver="redis"} 1\n`)
    expect(body).toContain(`wbc_dead_lettered_total{prefix="${prefix}",driver="redis",connection="default",table="${table}"} 1\n`)
    expect((await fetch(`${url}/other`)).status).toBe(404)
    server.child.kill('SIGTERM')
    expect(await server.exit).toBe(0)
  })
})

describe('metrics with the state store down', () => {
  it('--out replaces the previous file with wbc_up 0 and the error, and exits 3', async () => {
    const cwd = mkdtempSync(join(tmpdir(), 'wbc-metrics-down-'))
    const port = await closedPort()
    writeFileSync(join(cwd, 'wbc.config.json'), JSON.stringify({ipc: {driver: 'redis', redis: `redis://127.0.0.1:${port}`, prefix: 'downmetrics'}}))
    const out = join(cwd, 'wbc.prom')
    writeFileSync(out, 'wbc_up{prefix="downmetrics",driver="redis"} 1\nwbc_pending_rows 42\n')
    const {code, stderr} = await runCli(['metrics', '--out', out], {cwd})
    expect(code).toBe(3)
    expect(stderr).toContain('unreachable')
    const text = readFileSync(out, 'utf8')
    expect(text.split('\n')[0]).toMatch(new RegExp(`^# wbc could not read the state: Redis at redis://127\\.0\\.0\\.1:${port} is unreachable`))
    expect(text).toContain('\nwbc_up{prefix="downmetrics",driver="redis"} 0\n')
    expect(text).not.toContain('wbc_pending_rows')
    expect(text.split('\n').filter((line) => line && !line.startsWith('#'))).toEqual(['wbc_up{prefix="downmetrics",driver="redis"} 0'])
  })
})

describe.skipIf(!driversUp.redis)('streams tail (redis)', () => {
  const prefix = uniquePrefix()
  let cwd: string
  let wb: WriteBuffer

  beforeAll(async () => {
    cwd = mkdtempSync(join(tmpdir(), 'wbc-tail-'))
    const config = {ipc: {driver: 'redis', redis: urls.redis, prefix}}
    writeFileSync(join(cwd, 'wbc.config.json'), JSON.stringify(config))
    wb = await openEngine(config as never)
  })
  afterAll(async () => {
    await wb?.close()
    await cleanRedisPrefix(prefix)
  })

  it('without --cursor shows the newest --limit entries, like tail(1)', async () => {
    await wb.ipc.rpush(`${prefix}:lists:last`, ...Array.from({length: 30}, (_, n) => ({n})))
    const page = JSON.parse((await runCli(['streams', 'tail', 'lists:last', '--limit', '5', '--json'], {cwd})).stdout)
    expect(page.entries.map((e: {index: number; entry: {n: number}}) => [e.index, e.entry.n])).toEqual([
      [25, 25],
      [26, 26],
      [27, 27],
      [28, 28],
      [29, 29],
    ])
    const plain = await runCli(['streams', 'tail', 'lists:last', '--limit', '3'], {cwd})
    expect(plain.stdout).toBe('27\t{"n":27}\n28\t{"n":28}\n29\t{"n":29}\n')
    expect(plain.stderr).toContain('27 older: --cursor 0')
    const oldest = JSON.parse((await runCli(['streams', 'tail', 'lists:last', '--cursor', '0', '--limit', '2', '--json'], {cwd})).stdout)
    expect(oldest.entries.map((e: {entry: {n: number}}) => e.entry.n)).toEqual([0, 1])
  })

  it('--follow --json waits for a missing stream, then prints NDJSON and keeps up as the head is trimmed', async () => {
    const key = `${prefix}:events`
    const follow = background(['streams', 'tail', 'events', '--follow', '--json', '--limit', '2'], cwd)
    const seen = () =>
      follow.out.stdout
        .split('\n')
        .filter(Boolean)
        .map((line) => JSON.parse(line).entry.n as number)
    try {
      // The stream does not exist yet: the follower waits instead of failing.
      await until(() => follow.out.stderr.includes('events is empty or does not exist yet: waiting for entries'), 15_000, 'the follower to wait')
      expect(await wb.ipc.type(key)).toBe('none')
      await wb.ipc.rpush(key, ...Array.from({length: 5}, (_, n) => ({at: n, n})))
      await until(() => seen().length === 5, 15_000, 'the first five entries')
      // Appends trimmed to the newest 5, as the event stream is: the indexes shift under the follower.
      for (const n of [5, 6, 7]) {
        await wb.ipc.rpush(key, {at: n, n})
        await wb.ipc.ltrim(key, -5, -1)
      }
      await until(() => seen().length >= 8, 15_000, 'the three new entries')
      expect(seen()).toEqual([0, 1, 2, 3, 4, 5, 6, 7])
      expect(follow.out.stdout.split('\n')[0]).toBe('{"index":0,"entry":{"at":0,"n":0}}')
    } finally {
      follow.child.kill('SIGINT')
    }
    expect(await follow.exit).toBe(0)
    expect(follow.out.stderr).toBe('events is empty or does not exist yet: waiting for entries (Ctrl-C stops)\n')
  })
})
