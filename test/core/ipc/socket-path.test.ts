import {spawn} from 'node:child_process'
import {chmodSync, chownSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, statSync, symlinkSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {describe, expect, it} from 'vitest'

import {parseConfig} from '../../../src/core/config/load.js'
import {createIpc} from '../../../src/core/ipc/create.js'
import {startFixture} from '../../support/spawn.js'

const socketConfig = (socket: string) => parseConfig({ipc: {driver: 'memory', socket}}).ipc
const fresh = () => mkdtempSync(join(tmpdir(), 'wbc-sockpath-'))
const startError = (socket: string) =>
  createIpc(socketConfig(socket), {role: 'primary'}).then(
    async (ipc) => {
      await ipc.close()
      return null
    },
    (e: unknown) => e as {code: string; message: string; hint: string; exitCode: number},
  )

/** Runs the start-up in a child process under umask 000 and returns what it printed. */
async function underLooseUmask(env: Record<string, string>): Promise<{modes?: Record<string, string>; error?: {code: string; message: string; hint: string}}> {
  const {exit} = startFixture('loose-umask-start.ts', env)
  const {code, stdout, stderr} = await exit
  expect(code, stderr).toBe(0)
  return JSON.parse(stdout)
}

describe('ipc.socket that is not a socket (a misconfigured path)', () => {
  it('a regular file is never removed: start-up fails naming it, its content intact', async () => {
    const path = join(fresh(), 'important.db')
    writeFileSync(path, 'precious data')
    const error = await startError(path)
    expect(error).toMatchObject({code: 'SOCKET_PATH_TAKEN', exitCode: 2, message: `ipc.socket ${path} is a regular file, not a socket; wbc removes only a stale socket there, so it was left as it is`})
    expect(readFileSync(path, 'utf8')).toBe('precious data')
  })

  it('a folder, a symbolic link to a file, and a dangling link are refused and left as they are', async () => {
    const dir = fresh()
    const folder = join(dir, 'folder')
    mkdirSync(join(folder, 'inside'), {recursive: true})
    expect(await startError(folder)).toMatchObject({code: 'SOCKET_PATH_TAKEN', message: expect.stringContaining(`${folder} is a directory`)})
    expect(existsSync(join(folder, 'inside'))).toBe(true)

    const target = join(dir, 'target.txt')
    writeFileSync(target, 'kept')
    const link = join(dir, 'link.sock')
    symlinkSync(target, link)
    expect(await startError(link)).toMatchObject({code: 'SOCKET_PATH_TAKEN', message: expect.stringContaining(`${link} is a symbolic link`)})
    expect(readlinkSync(link)).toBe(target)
    expect(readFileSync(target, 'utf8')).toBe('kept')

    const dangling = join(dir, 'dangling.sock')
    symlinkSync(join(dir, 'nowhere'), dangling)
    expect(await startError(dangling)).toMatchObject({code: 'SOCKET_PATH_TAKEN', message: expect.stringContaining(`${dangling} is a symbolic link`)})
    expect(lstatSync(dangling).isSymbolicLink()).toBe(true)
  })

  it('a stale socket (its primary gone) is still replaced, and closing removes only its own socket', async () => {
    const path = join(fresh(), 'wbc.sock')
    // A process that served it and was killed (SIGKILL leaves the socket file behind).
    const child = spawn(process.execPath, ['-e', `require('node:net').createServer().listen(${JSON.stringify(path)}, () => console.log('up'))`], {stdio: ['ignore', 'pipe', 'inherit']})
    await new Promise((resolve) => child.stdout.once('data', resolve))
    child.kill('SIGKILL')
    await new Promise((resolve) => child.once('exit', resolve))
    expect(lstatSync(path).isSocket()).toBe(true)
    const app = await createIpc(socketConfig(path), {role: 'primary'})
    const client = await createIpc(socketConfig(path), {role: 'socket'})
    await client.set('k', 1)
    expect(await app.get('k')).toBe(1)
    await client.close()
    await app.close()
    expect(existsSync(path)).toBe(false)
  })
})

describe('the socket is locked down before anyone can connect (start-up under umask 000)', () => {
  it('an existing folder open to others is refused before listening, naming it and the fix; nothing is created', async () => {
    const folder = join(fresh(), 'shared')
    mkdirSync(folder)
    chmodSync(folder, 0o755)
    const socket = join(folder, 'wbc.sock')
    const {error} = await underLooseUmask({SOCKET: socket})
    expect(error).toEqual({
      code: 'FOLDER_OPEN',
      message: `the folder of the socket ${folder} is open to other users (mode 755): they could connect while it starts`,
      hint: `chmod 700 ${folder} (or give the socket a folder of its own, which wbc creates 0700).`,
    })
    expect(existsSync(socket)).toBe(false)
    expect(statSync(folder).mode & 0o777).toBe(0o755) // Not ours to change.
  })

  it('a folder wbc creates is 0700 and the socket 0600; a closed existing folder is used', async () => {
    const socket = join(fresh(), 'a', 'b', 'wbc.sock')
    const {modes} = await underLooseUmask({SOCKET: socket})
    expect(modes).toEqual({[socket]: '600', [join(socket, '..')]: '700'})

    const own = join(fresh(), 'own')
    mkdirSync(own, {mode: 0o700})
    const inOwn = join(own, 'wbc.sock')
    expect((await underLooseUmask({SOCKET: inOwn})).modes).toEqual({[inOwn]: '600', [own]: '700'})
  })

  it('the checkpoint, its lock files and a SQLite database wbc creates are 0600 from the start', async () => {
    const dir = fresh()
    const checkpoint = join(dir, 'state', 'checkpoint.lmdb')
    const sqlite = join(dir, 'data', 'app.sqlite')
    const {modes, error} = await underLooseUmask({CHECKPOINT: checkpoint, SQLITE: sqlite})
    expect(error).toBeUndefined()
    expect(modes).toEqual({
      [checkpoint]: '600',
      [`${checkpoint}-lock`]: '600',
      [`${checkpoint}.lock`]: '600',
      [sqlite]: '600',
      [`${sqlite}-wal`]: '600',
      [`${sqlite}-shm`]: '600',
      [join(dir, 'data')]: '700',
    })
  })
})

describe.skipIf(process.getuid?.() !== 0)('a socket folder of another user (needs root to chown)', () => {
  it('is refused (FOREIGN_OWNER naming the folder); ipc.allowForeignOwner lets it through', async () => {
    const folder = join(fresh(), 'theirs')
    mkdirSync(folder, {mode: 0o700})
    chownSync(folder, 65534, 65534)
    const socket = join(folder, 'wbc.sock')
    const error = await startError(socket)
    expect(error).toMatchObject({code: 'FOREIGN_OWNER', exitCode: 2, message: `the folder of the socket ${folder} belongs to another user (uid 65534; wbc runs as uid 0): they could reach the socket`})
    expect(existsSync(socket)).toBe(false)
    const allowed = await createIpc(parseConfig({ipc: {driver: 'memory', socket, allowForeignOwner: true}}).ipc, {role: 'primary'})
    expect(statSync(socket).mode & 0o777).toBe(0o600)
    await allowed.close()
  })
})
