import {existsSync, mkdtempSync, readlinkSync, statSync, symlinkSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {open} from 'lmdb'
import {afterEach, describe, expect, it} from 'vitest'

import {parseConfig} from '../../../src/core/config/load.js'
import {createIpc} from '../../../src/core/ipc/create.js'
import type {Ipc} from '../../../src/core/ipc/types.js'

/** `wbc checkpoint --out` (the primary's export) writes where it is named, never through a link. */
describe('checkpoint export path', () => {
  let app: Ipc | undefined
  afterEach(async () => {
    await app?.close()
    app = undefined
  })

  const start = async () => {
    const dir = mkdtempSync(join(tmpdir(), 'wbc-export-'))
    const config = parseConfig({ipc: {driver: 'memory', prefix: 'exp', socket: join(dir, 'wbc.sock')}}).ipc
    app = await createIpc(config, {role: 'primary', serveSocket: false, checkpoint: {path: join(dir, 'checkpoint.lmdb'), intervalMs: 60_000}})
    await app.set('exp:c:default:posts:1:views', 5)
    return dir
  }

  it('refuses a symbolic link to an existing file: the file it points to is not written', async () => {
    const dir = await start()
    const theirs = join(dir, 'theirs.lmdb')
    const other = open({path: theirs, compression: true})
    await other.put('other:key', 'theirs')
    await other.close()
    const out = join(dir, 'backup.lmdb')
    symlinkSync(theirs, out)
    await expect(app!.checkpoint(out)).rejects.toMatchObject({code: 'SYMLINK_REFUSED', exitCode: 2, message: `the export ${out} is a symbolic link; wbc does not write through links`})
    const reread = open({path: theirs, compression: true, readOnly: true})
    expect([...reread.getKeys({})]).toEqual(['other:key'])
    await reread.close()
    expect(readlinkSync(out)).toBe(theirs)
  })

  it('refuses a dangling link: nothing is created where it points', async () => {
    const dir = await start()
    const out = join(dir, 'backup.lmdb')
    symlinkSync(join(dir, 'elsewhere.lmdb'), out)
    await expect(app!.checkpoint(out)).rejects.toMatchObject({code: 'SYMLINK_REFUSED'})
    expect(existsSync(join(dir, 'elsewhere.lmdb'))).toBe(false)
  })

  it('a new export is 0600 with its lock files, and holds the state', async () => {
    const dir = await start()
    const out = join(dir, 'backup.lmdb')
    expect(await app!.checkpoint(out)).toMatchObject({path: out, counters: 1})
    for (const file of [out, `${out}-lock`, `${out}.lock`]) expect(statSync(file).mode & 0o777).toBe(0o600)
  })
})
