import {chownSync, statSync, writeFileSync} from 'node:fs'
import {dirname, join} from 'node:path'

import {open} from 'lmdb'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import type {WriteBuffer} from '../../src/core/buffer/write-buffer.js'
import {openTestDb, type TestDb} from '../support/db.js'
import {runCli} from '../support/cli.js'
import {engineConfig, openEngine} from '../support/engine.js'

const NOBODY = 65534
const root = process.getuid?.() === 0

/** A socket or checkpoint of another user is refused unless the config (or environment) allows it. */
describe.skipIf(!root)('files owned by another user (needs root to chown)', () => {
  let db: TestDb
  beforeAll(async () => {
    db = await openTestDb('sqlite')
  })
  afterAll(() => db.cleanup())

  it('a checkpoint of another user: start-up refuses with FOREIGN_OWNER; ipc.allowForeignOwner lets it through', async () => {
    const config = engineConfig('memory', db.url)
    const path = config.buffer!.checkpointPath!
    const file = open({path, compression: true})
    await file.put(`${(config.ipc as {prefix: string}).prefix}:c:default:posts:1:views`, {delta: 3, base: 0})
    await file.close()
    chownSync(path, NOBODY, NOBODY)

    const error = await openEngine(config).then(
      () => null,
      (e: unknown) => e as {code: string; message: string; hint: string; exitCode: number},
    )
    expect(error).toMatchObject({code: 'FOREIGN_OWNER', exitCode: 2, message: `the checkpoint ${path} belongs to another user (uid ${NOBODY}; wbc runs as uid 0)`})
    expect(error?.hint).toContain('"ipc.allowForeignOwner": true')

    const wb = await openEngine({...config, ipc: {...config.ipc, allowForeignOwner: true}})
    // Allowed: the checkpoint's pending delta is restored.
    expect(await wb.ipc.get(`${(config.ipc as {prefix: string}).prefix}:c:default:posts:1:views`)).toBe(3)
    await wb.disconnect()
  })

  it('a socket of another user: wbc refuses (exit 2) unless WBC_ALLOW_FOREIGN_OWNER=1', async () => {
    const config = engineConfig('memory', db.url)
    const socket = (config.ipc as {socket: string}).socket
    let wb: WriteBuffer | undefined
    try {
      wb = await openEngine(config, {serveSocket: true, checkpoint: false})
      expect(statSync(socket).mode & 0o777).toBe(0o600)
      chownSync(socket, NOBODY, NOBODY)
      const configFile = join(dirname(socket), 'wbc.config.json')
      writeFileSync(configFile, JSON.stringify(config))

      const refused = await runCli(['status', '--json', '--config', configFile])
      expect(refused.code).toBe(2)
      expect(JSON.parse(refused.stdout).error).toMatchObject({code: 'FOREIGN_OWNER', message: `the socket ${socket} belongs to another user (uid ${NOBODY}; wbc runs as uid 0)`})

      const allowed = await runCli(['status', '--json', '--config', configFile], {env: {WBC_ALLOW_FOREIGN_OWNER: '1'}})
      expect(allowed.code).toBe(0)
      expect(JSON.parse(allowed.stdout).driver).toBe('memory')
    } finally {
      await wb?.disconnect()
    }
  })
})
