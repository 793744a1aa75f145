import {mkdtempSync} from 'node:fs'
import {createConnection, type Socket} from 'node:net'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {afterEach, describe, expect, it} from 'vitest'

import {MAX_ROW_BYTES} from '../../../src/core/buffer/validate.js'
import {parseConfig} from '../../../src/core/config/load.js'
import {createIpc} from '../../../src/core/ipc/create.js'
import {LineSplitter} from '../../../src/core/ipc/memory/lines.js'
import type {Ipc} from '../../../src/core/ipc/types.js'
import {sleep, until} from '../../support/spawn.js'
import {stepsFor} from '../../../src/core/buffer/steps/index.js'

const MB = 1024 * 1024
const config = (socket: string, extra: Record<string, unknown> = {}) => parseConfig({ipc: {driver: 'memory', socket, ...extra}}).ipc

const opened: Array<{close(): Promise<void>}> = []
afterEach(async () => {
  for (const one of opened.splice(0).reverse()) await one.close().catch(() => {})
})

async function app(extra: Record<string, unknown> = {}): Promise<{socket: string; app: Ipc}> {
  const socket = join(mkdtempSync(join(tmpdir(), 'wbc-limits-')), 'wbc.sock')
  const primary = await createIpc(config(socket, extra), {role: 'primary'})
  opened.push(primary)
  return {socket, app: primary}
}

async function client(socket: string, extra: Record<string, unknown> = {}): Promise<Ipc> {
  const ipc = await createIpc(config(socket, extra), {role: 'socket'})
  opened.push(ipc)
  return ipc
}

/** A raw socket client: every line it receives, parsed, and whether the application closed it. */
async function raw(path: string) {
  const socket: Socket = createConnection(path)
  await new Promise((resolve) => socket.once('connect', resolve))
  const received: Array<Record<string, any>> = []
  const lines = new LineSplitter()
  let closed = false
  socket.on('data', (chunk: Buffer) => {
    for (const line of lines.push(chunk).lines) received.push(JSON.parse(line.toString()))
  })
  socket.on('error', () => {})
  socket.on('close', () => (closed = true))
  opened.push({close: async () => void socket.destroy()})
  let id = 0
  return {
    socket,
    received,
    isClosed: () => closed,
    request: (op: string, ...args: unknown[]) => {
      socket.write(`${JSON.stringify({wbc: 1, kind: 'req', cid: 'raw', id: ++id, op, args})}\n`)
      return id
    },
    answer: async (reqId: number) => {
      await until(() => received.some((m) => m.id === reqId) || closed, 5000, `answer ${reqId}`)
      return received.find((m) => m.id === reqId)
    },
  }
}

describe('memory socket: request size', () => {
  it('a request line longer than ipc.maxRequestBytes, without its newline yet, gets REQUEST_TOO_LARGE and is closed', async () => {
    const {socket, app: primary} = await app({maxRequestBytes: 2 * MB})
    const hostile = await raw(socket)
    const part = Buffer.alloc(64 * 1024, 'x')
    for (let sent = 0; sent < 3 * MB && !hostile.isClosed(); sent += part.length) {
      // The application stops reading once it has refused the line: the writes then wait until it closes.
      if (!hostile.socket.write(part)) await new Promise((resolve) => (hostile.socket.once('drain', resolve), hostile.socket.once('close', resolve)))
    }
    await until(hostile.isClosed, 5000, 'the connection to close')
    expect(hostile.received).toHaveLength(1)
    expect(hostile.received[0]).toMatchObject({wbc: 1, kind: 'closing', error: {code: 'REQUEST_TOO_LARGE', exitCode: 2}})
    expect(hostile.received[0].error.message).toContain(`the limit is ${2 * MB} (ipc.maxRequestBytes)`)
    // The application serves everyone else as before.
    await primary.set('k', 1)
    expect(await (await client(socket)).get('k')).toBe(1)
  })

  it('a complete line over the limit is refused the same way and never runs', async () => {
    const {socket, app: primary} = await app({maxRequestBytes: 2 * MB})
    const hostile = await raw(socket)
    hostile.request('set', 'big', 'x'.repeat(2 * MB + 10), 0)
    await until(hostile.isClosed, 5000, 'the connection to close')
    expect(hostile.received.map((m) => m.error?.code)).toEqual(['REQUEST_TOO_LARGE'])
    expect(await primary.get('big')).toBeNull()
  })

  it('the default limit is 16 MiB, never below two rows of MAX_ROW_BYTES', () => {
    expect(parseConfig({}).ipc.maxRequestBytes).toBe(16 * MB)
    expect(() => parseConfig({ipc: {maxRequestBytes: 2 * MAX_ROW_BYTES - 1}})).toThrow(/maxRequestBytes/)
    expect(parseConfig({ipc: {maxRequestBytes: 2 * MAX_ROW_BYTES}}).ipc.maxRequestBytes).toBe(2 * MAX_ROW_BYTES)
  })

  it('the largest rows the buffer takes pass under the smallest limit, split or whole', async () => {
    const prefix = 'wbclim'
    const {socket, app: primary} = await app({maxRequestBytes: 2 * MAX_ROW_BYTES, prefix})
    const ipc = await client(socket, {maxRequestBytes: 2 * MAX_ROW_BYTES, prefix})
    // A row as large as a row may be (MAX_ROW_BYTES as JSON), with multi-byte characters.
    const row = {id: 1, body: 'é'.repeat((MAX_ROW_BYTES - 20) / 2)}
    expect(Buffer.byteLength(JSON.stringify(row))).toBeLessThanOrEqual(MAX_ROW_BYTES)
    expect(await stepsFor(ipc).insert(prefix, 'default:posts', [row])).toBe(1)
    expect(await primary.llen(`${prefix}:q:default:posts`)).toBe(1)
  })

  it("the project's own client refuses a request over its limit itself, and keeps its connection", async () => {
    const {socket} = await app({maxRequestBytes: 2 * MB})
    const ipc = await client(socket, {maxRequestBytes: 2 * MB})
    const error = await ipc.set('big', 'é'.repeat(MB + 10)).catch((e) => e)
    expect(error).toMatchObject({code: 'REQUEST_TOO_LARGE', exitCode: 2})
    expect(error.message).toContain(`the limit is ${2 * MB} (ipc.maxRequestBytes)`)
    await ipc.set('small', 1)
    expect(await ipc.get('small')).toBe(1)
  })
})

describe('memory socket: answers a client does not read', () => {
  it('are produced only as fast as it reads them, and all arrive in order once it does', async () => {
    const {socket, app: primary} = await app()
    const item = 'y'.repeat(1000)
    for (let i = 0; i < 10; i++) await primary.rpush('big', ...Array.from({length: 100}, () => item))
    const counting = await raw(socket)
    counting.socket.pause()
    const total = 200 // About 200 MB of answers if all were produced at once.
    for (let i = 0; i < total; i++) counting.request('lrange', 'big', 0, -1)
    const rssBefore = process.memoryUsage().rss
    await sleep(1500)
    const rssGrowth = process.memoryUsage().rss - rssBefore
    expect(rssGrowth).toBeLessThan(100 * MB)
    counting.socket.resume()
    await until(() => counting.received.length === total, 30_000, 'every answer')
    const handled = counting.received.filter((m) => m.ok && m.result.length === 1000).length
    expect(handled).toBe(total)
    expect(counting.received.map((m) => m.id)).toEqual(Array.from({length: total}, (_, i) => i + 1))
  })
})

describe('memory socket: connection limit', () => {
  it('one client over ipc.maxConnections gets TOO_MANY_CONNECTIONS and is closed; a slot that frees is reused', async () => {
    const {socket} = await app({maxConnections: 3})
    const served = await Promise.all([raw(socket), raw(socket), raw(socket)])
    for (const one of served) expect(await one.answer(one.request('get', 'k'))).toMatchObject({ok: true, result: null})
    const excess = await raw(socket)
    await until(excess.isClosed, 5000, 'the excess connection to close')
    expect(excess.received).toHaveLength(1)
    expect(excess.received[0]).toMatchObject({kind: 'closing', error: {code: 'TOO_MANY_CONNECTIONS', exitCode: 3}})
    expect(excess.received[0].error.message).toContain('3 socket clients (ipc.maxConnections)')

    // The project's client says why its request failed.
    const ipc = await client(socket)
    await expect(ipc.get('k')).rejects.toMatchObject({code: 'TOO_MANY_CONNECTIONS', exitCode: 3})

    served[0].socket.destroy()
    await until(() => served[0].isClosed(), 5000, 'a slot to free')
    await sleep(50)
    const next = await raw(socket)
    expect(await next.answer(next.request('get', 'k'))).toMatchObject({ok: true, result: null})
    expect(next.isClosed()).toBe(false)
  })

  it('the default is 256', () => {
    expect(parseConfig({}).ipc.maxConnections).toBe(256)
  })
})

describe('memory socket: idle clients', () => {
  it('a client that sends nothing for ipc.idleTimeout gets IDLE_TIMEOUT and is closed', async () => {
    const {socket} = await app({idleTimeout: 300})
    const idle = await raw(socket)
    expect(await idle.answer(idle.request('get', 'k'))).toMatchObject({ok: true})
    await until(idle.isClosed, 5000, 'the idle connection to close')
    expect(idle.received.at(-1)).toMatchObject({kind: 'closing', error: {code: 'IDLE_TIMEOUT', exitCode: 3}})
  })

  it('a subscriber is not idle: it stays and keeps receiving what is published', async () => {
    const {socket, app: primary} = await app({idleTimeout: 300})
    const listener = await raw(socket)
    listener.socket.write(`${JSON.stringify({wbc: 1, kind: 'listen', cid: 'raw', id: 99, channel: 'news'})}\n`)
    expect(await listener.answer(99)).toMatchObject({ok: true})
    await sleep(1000)
    expect(listener.isClosed()).toBe(false)
    expect(await primary.publish('news', {n: 1})).toBe(1)
    await until(() => listener.received.some((m) => m.kind === 'msg'), 5000, 'the message')
    expect(listener.received.find((m) => m.kind === 'msg')).toMatchObject({channel: 'news', message: {n: 1}})
  })

  it("the project's own client reconnects on its next request after an idle close", async () => {
    const {socket, app: primary} = await app({idleTimeout: 300})
    const ipc = await client(socket)
    await ipc.set('k', 1)
    await sleep(900) // Closed by the application meanwhile.
    expect(await ipc.incrBy('k', 1)).toBe(2)
    await sleep(900)
    // Several requests at once on the reopened connection, each run exactly once.
    expect(await Promise.all([ipc.incrBy('k', 1), ipc.incrBy('k', 1), ipc.get('k')])).toEqual([3, 4, 4])
    expect(await primary.get('k')).toBe(4)
  })

  it('the default is 5 minutes', () => {
    expect(parseConfig({}).ipc.idleTimeout).toBe(300_000)
  })
})
