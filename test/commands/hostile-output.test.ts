import {spawn} from 'node:child_process'
import {mkdtempSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {parseConfig} from '../../src/core/config/load.js'
import {createIpc} from '../../src/core/ipc/create.js'
import type {Ipc} from '../../src/core/ipc/types.js'
import {runCli, type CliResult} from '../support/cli.js'
import {cleanRedisPrefix, driversUp} from '../support/engine.js'
import {uniquePrefix, urls} from '../support/services.js'

/**
 * Values written into the state by someone else must not drive the operator's terminal nor add
 * lines to output that scripts parse: every human output shows them escaped, --json exactly.
 */

// An OSC window title, a BEL, clear-screen (7-bit and as the C1 CSI), a right-to-left override, a
// line separator, an isolate, DEL, a tab, then CR LF and a line that looks like a table row.
const HOSTILE = '7\u001b]0;PWNED\u0007\u001b[2J\u009b2J\u202egnp.exe\u2028\u2066x\u007f\tz\r\nfake  line'
const SHOWN = '7\\x1b]0;PWNED\\x07\\x1b[2J\\x9b2J\\u202egnp.exe\\u2028\\u2066x\\x7f\\tz\\r\\nfake  line'
// A key name that does not parse (a bad key): controls inside the table name.
const BAD_TABLE = 'po\u001b[2Jsts\nfake  line'
const BAD_SHOWN = 'po\\x1b[2Jsts\\nfake  line'

/** Anything that can act on a terminal or reorder what it shows; newline and tab are checked apart. */
const UNSAFE = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u061c\u200b\u200e\u200f\u2028-\u202e\u2060-\u206f\ufeff]/

function expectSafe(label: string, text: string, {tabs = false} = {}): void {
  const found = UNSAFE.exec(text)
  expect(found, `${label}: raw U+${found?.[0].charCodeAt(0).toString(16).padStart(4, '0')} at ${found?.index} in ${JSON.stringify(text)}`).toBeNull()
  if (!tabs) expect(text.includes('\t'), `${label}: a raw tab in ${JSON.stringify(text)}`).toBe(false)
  const forged = text.split('\n').find((line) => /^\s*fake/.test(line))
  expect(forged, `${label}: a value started a line of its own`).toBeUndefined()
}

describe.skipIf(!driversUp.redis)('hostile values in the state, on every human output', () => {
  const prefix = uniquePrefix()
  let cwd: string
  let ipc: Ipc
  const run = async (...args: string[]): Promise<CliResult> => {
    const result = await runCli(args, {cwd})
    expectSafe(`wbc ${args.join(' ')} (stderr)`, result.stderr)
    return result
  }

  beforeAll(async () => {
    cwd = mkdtempSync(join(tmpdir(), 'wbc-hostile-'))
    const config = {ipc: {driver: 'redis', redis: urls.redis, prefix}, connections: {default: `sqlite:${join(cwd, 'app.sqlite')}`}}
    writeFileSync(join(cwd, 'wbc.config.json'), JSON.stringify(config))
    ipc = await createIpc(parseConfig(config).ipc)
    const now = Date.now()
    // A pending counter whose where is the hostile value (a scalar where: any text is a row address).
    await ipc.set(`${prefix}:c:default:posts:${HOSTILE}:views`, 5)
    await ipc.sadd(`${prefix}:idx:counters`, `default:posts:${HOSTILE}:views`)
    // A pending update whose field value is hostile.
    await ipc.hset(`${prefix}:u:default:posts:1`, {title: HOSTILE})
    await ipc.sadd(`${prefix}:idx:updates`, 'default:posts:1')
    // A queued row.
    await ipc.rpush(`${prefix}:q:default:posts`, {title: HOSTILE, views: 1})
    await ipc.sadd(`${prefix}:idx:queues`, 'default:posts')
    // A dead letter whose entry and database error are hostile.
    await ipc.hset(`${prefix}:dl:default:posts`, {
      'b1:0': {id: 'b1:0', connection: 'default', table: 'posts', kind: 'update', entry: {where: HOSTILE, fields: {title: HOSTILE}}, error: HOSTILE, at: now},
    })
    await ipc.sadd(`${prefix}:idx:deadletters`, 'default:posts')
    // The flush lease, held by a "host" named with the hostile value.
    await ipc.set(`${prefix}:lock:flush`, {token: 'tok-hostile', host: HOSTILE, pid: 4_000_000, acquiredAt: now, fence: 1, ttlMs: 600_000}, 600)
    // An event stream entry.
    await ipc.rpush(`${prefix}:events`, {at: now, type: 'note', note: HOSTILE})
    // A name that does not parse, and a quarantined key whose name and reason are hostile.
    await ipc.sadd(`${prefix}:idx:counters`, `default:${BAD_TABLE}:1:views`)
    await ipc.hset(`${prefix}:idx:bad`, {[`c:${HOSTILE}`]: JSON.stringify({reason: HOSTILE, at: now})})
  })
  afterAll(async () => {
    await ipc?.close()
    await cleanRedisPrefix(prefix)
  })

  it('pending: plain columns, one line per entry, values escaped; --json is exact', async () => {
    const json = JSON.parse((await run('pending', '--json', '--show-values')).stdout) as {entries: Array<{type: string; where?: string; value?: unknown}>}
    expect(json.entries.find((e) => e.type === 'counter')).toEqual({type: 'counter', connection: 'default', table: 'posts', where: HOSTILE, column: 'views', value: 5})
    expect(json.entries.find((e) => e.type === 'update')).toEqual({type: 'update', connection: 'default', table: 'posts', where: '1', value: {title: HOSTILE}})
    expect(json.entries.find((e) => e.type === 'insert')).toEqual({type: 'insert', connection: 'default', table: 'posts', value: {title: HOSTILE, views: 1}})
    for (const args of [['pending'], ['pending', '--show-values']]) {
      const {code, stdout} = await run(...args)
      expect(code).toBe(0)
      expectSafe(args.join(' '), stdout)
      expect(stdout.trimEnd().split('\n')).toHaveLength(1 + json.entries.length)
    }
    const plain = (await run('pending', '--type', 'counter')).stdout.trimEnd().split('\n')
    expect(plain).toHaveLength(2)
    expect(plain[1]).toBe(`counter  default     posts  ${SHOWN}  views`)
    // The JSON-encoded value column: JSON escapes C0 itself; the rest is escaped for the terminal.
    const values = (await run('pending', '--type', 'update', '--show-values')).stdout
    expect(values).toContain('\\u202egnp.exe\\u2028\\u2066x\\x7f')
  })

  it('every --json output is exact and carries nothing raw for the terminal', async () => {
    const outputs = {
      pending: await run('pending', '--json', '--show-values'),
      status: await run('status', '--json'),
      locks: await run('locks', '--json'),
      deadletters: await run('deadletter', 'list', '--json'),
      tail: await run('streams', 'tail', 'events', '--json'),
      doctor: await run('doctor', '--json'),
      release: await run('locks', 'release', 'flush', '--force', '--json'),
    }
    for (const [name, result] of Object.entries(outputs)) expectSafe(`${name} --json`, result.stdout)
    const status = JSON.parse(outputs.status.stdout)
    expect(status.lease.host).toBe(HOSTILE)
    expect(status.badKeys).toEqual(
      expect.arrayContaining([
        {key: `${prefix}:c:default:${BAD_TABLE}:1:views`, problem: expect.any(String)},
        {key: `${prefix}:bad:c:${HOSTILE}`, problem: `quarantined: ${HOSTILE}`},
      ]),
    )
    expect(JSON.parse(outputs.locks.stdout).locks.map((l: {host: string}) => l.host)).toEqual([HOSTILE])
    expect(JSON.parse(outputs.deadletters.stdout).deadLetters).toEqual([
      {
        id: 'b1:0',
        connection: 'default',
        table: 'posts',
        kind: 'update',
        entry: {where: HOSTILE, fields: {title: HOSTILE}},
        error: HOSTILE,
        at: expect.any(Number),
        // Read from a record without them: the reason is the stored text, nothing else recorded.
        reason: {code: null, constraint: null, message: HOSTILE},
        statement: null,
        attempts: null,
      },
    ])
    expect(JSON.parse(outputs.tail.stdout).entries.map((e: {entry: {note: string}}) => e.entry.note)).toEqual([HOSTILE])
    expect(JSON.stringify(JSON.parse(outputs.doctor.stdout))).toContain(JSON.stringify(BAD_TABLE).slice(1, -1))
    expect(outputs.release.code).toBe(2)
    expect(JSON.parse(outputs.release.stdout).error.message).toContain(HOSTILE)
  })

  it('status, locks, dead letters, streams, tail, doctor, flush: escaped, no forged lines', async () => {
    const status = await run('status')
    expectSafe('status', status.stdout)
    expect(status.stdout).toContain(`held by ${SHOWN} pid 4000000`)
    expect(status.stdout).toContain(`${prefix}:c:default:${BAD_SHOWN}:1:views`)
    expect(status.stdout).toContain(`${prefix}:bad:c:${SHOWN}: quarantined: ${SHOWN}`)

    const locks = await run('locks')
    expectSafe('locks', locks.stdout)
    expect(locks.stdout.trimEnd().split('\n')).toHaveLength(2)
    expect(locks.stdout).toContain(SHOWN)

    const letters = await run('deadletter', 'list')
    expectSafe('deadletter list', letters.stdout)
    expect(letters.stdout.trimEnd().split('\n')).toHaveLength(2)
    expect(letters.stdout).toContain(SHOWN.slice(0, 40))

    const streams = await run('streams')
    expectSafe('streams', streams.stdout)
    expect(streams.stdout.trimEnd().split('\n')).toHaveLength(1 + JSON.parse((await run('streams', '--json')).stdout).streams.length)

    const tail = await run('streams', 'tail', 'events')
    expectSafe('streams tail', tail.stdout, {tabs: true})
    expect(tail.stdout.trimEnd().split('\n')).toHaveLength(1)
    expect(tail.stdout).toContain('\\u202egnp.exe\\u2028\\u2066x\\x7f')

    const doctor = await run('doctor')
    expect(doctor.code).toBe(5)
    expectSafe('doctor', doctor.stdout)
    expect(doctor.stdout).toContain(BAD_SHOWN)

    // The lease is held by the hostile "host": flush says so in a note, and exits 4.
    const flush = await run('flush')
    expect(flush.code).toBe(4)
    expect(flush.stderr).toContain(`held by ${SHOWN} pid 4000000`)
    const dry = await run('flush', '--dry-run')
    expectSafe('flush --dry-run', dry.stdout)

    // Without a terminal the release needs --yes: the refusal quotes the holder, escaped.
    const release = await run('locks', 'release', 'flush', '--force')
    expect(release.code).toBe(2)
    expect(release.stderr).toContain(`held by ${SHOWN} pid 4000000`)
    expect(release.stderr.trimEnd().split('\n')).toHaveLength(2)
  })

  it('dashboard --once renders the real state escaped', async () => {
    const {code, stdout} = await run('dashboard', '--once')
    expect(code).toBe(0)
    expectSafe('dashboard --once', stdout)
    expect(stdout).toContain('lease 7\\x1b]0;PWNED')
    expect(stdout).toContain(`first: ${prefix}:c:default:po\\x1b[2Jsts\\nfake`)
  })

  it('streams tail --follow --json: one exact JSON document per line', async () => {
    const child = spawn(process.execPath, [join(import.meta.dirname, '..', '..', 'bin', 'run.js'), 'streams', 'tail', 'events', '--follow', '--json'], {
      cwd,
      env: {...process.env, NO_COLOR: '1', WBC_CONFIG: undefined, WBC_REDIS_URL: undefined, DATABASE_URL: undefined},
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let stdout = ''
    let stderr = ''
    child.stderr.on('data', (chunk) => (stderr += chunk))
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)))
    // Before the fix nothing was printed under --json: the guard ends the wait and the assertions fail.
    await new Promise<void>((resolve) => {
      const guard = setTimeout(resolve, 20_000)
      child.stdout.on('data', (chunk) => {
        stdout += chunk
        if (stdout.includes('\n')) resolve()
      })
      child.on('exit', () => resolve())
      child.on('exit', () => clearTimeout(guard))
    })
    child.kill('SIGINT')
    const guard = setTimeout(() => child.kill('SIGKILL'), 20_000)
    await exited
    clearTimeout(guard)
    expectSafe('tail --follow --json', stdout + stderr)
    const lines = stdout.trimEnd().split('\n')
    expect(lines).toHaveLength(1)
    expect(JSON.parse(lines[0])).toEqual({index: 0, entry: {at: expect.any(Number), type: 'note', note: HOSTILE}})
  })
})
