import {mkdtempSync, statSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {describe, expect, it} from 'vitest'

import {parseConfig} from '../../../src/core/config/load.js'
import {createIpc} from '../../../src/core/ipc/create.js'
import {ipcContract} from './contract.js'

const socketConfig = (socket: string, extra: Record<string, unknown> = {}) => parseConfig({ipc: {driver: 'memory', socket, ...extra}}).ipc

// The application (primary) serves its socket; `ipc` and `peer` are two separate socket clients,
// as two `wbc` invocations would be.
ipcContract('memory, over the socket', async () => {
  const socket = join(mkdtempSync(join(tmpdir(), 'wbc-')), 'wbc.sock')
  const app = await createIpc(socketConfig(socket), {role: 'primary'})
  const ipc = await createIpc(socketConfig(socket), {role: 'socket'})
  const peer = await createIpc(socketConfig(socket), {role: 'socket'})
  return {ipc, peer, inProcess: false, cleanup: async () => app.close()}
})

describe('memory socket', () => {
  it('is created owner-only and removed when the application closes', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'wbc-'))
    const socket = join(dir, 'nested', 'wbc.sock')
    const app = await createIpc(socketConfig(socket), {role: 'primary'})
    expect(statSync(socket).mode & 0o777).toBe(0o600)
    expect(statSync(join(dir, 'nested')).mode & 0o777).toBe(0o700)
    await app.close()
    expect(() => statSync(socket)).toThrow()
  })

  it('refuses to start a second primary on a socket that a live one serves', async () => {
    const socket = join(mkdtempSync(join(tmpdir(), 'wbc-')), 'wbc.sock')
    const app = await createIpc(socketConfig(socket), {role: 'primary'})
    await expect(createIpc(socketConfig(socket), {role: 'primary'})).rejects.toMatchObject({code: 'SOCKET_IN_USE', exitCode: 2})
    await app.close()
  })

  it('fails fast with an error naming the socket when no application serves it', async () => {
    const socket = join(mkdtempSync(join(tmpdir(), 'wbc-')), 'absent.sock')
    const started = Date.now()
    const error = await createIpc(socketConfig(socket, {connectTimeout: 500}), {role: 'socket'}).catch((e) => e)
    expect(error).toMatchObject({name: 'ServiceUnavailable', exitCode: 3})
    expect(error.message).toContain(socket)
    expect(error.message).toContain('no socket file there')
    expect(Date.now() - started).toBeLessThan(2000)
  })

  it('fails pending requests with a clear error when the application goes away', async () => {
    const socket = join(mkdtempSync(join(tmpdir(), 'wbc-')), 'wbc.sock')
    const app = await createIpc(socketConfig(socket), {role: 'primary'})
    const client = await createIpc(socketConfig(socket), {role: 'socket'})
    await client.set('k', 1)
    await app.close()
    await new Promise((resolve) => setTimeout(resolve, 50))
    await expect(client.get('k')).rejects.toMatchObject({name: 'ServiceUnavailable', exitCode: 3})
    await client.close()
  })
})

describe('memory requests that get no answer', () => {
  it('fail with RequestTimeout naming the address after requestTimeout, and are not resent', async () => {
    const {createServer} = await import('node:net')
    const socket = join(mkdtempSync(join(tmpdir(), 'wbc-')), 'mute.sock')
    const received: string[] = []
    // A primary that accepts and reads but never answers (e.g. blocked).
    const server = createServer((conn) => conn.on('data', (chunk) => received.push(chunk.toString())))
    await new Promise<void>((resolve) => server.listen(socket, resolve))
    const client = await createIpc(socketConfig(socket, {requestTimeout: 300}), {role: 'socket'})
    const started = Date.now()
    const error = await client.incrBy('k', 1).catch((e) => e)
    expect(error).toMatchObject({name: 'RequestTimeout', code: 'REQUEST_TIMEOUT', exitCode: 3})
    expect(error.message).toBe(`incrBy got no answer from unix:${socket} within 300 ms`)
    expect(Date.now() - started).toBeGreaterThanOrEqual(290)
    await new Promise((resolve) => setTimeout(resolve, 400))
    expect(received.join('').trim().split('\n')).toHaveLength(1)
    await client.close()
    server.close()
  })
})
