import {spawnSync} from 'node:child_process'
import {hostname} from 'node:os'

import {afterAll, describe, expect, it} from 'vitest'

import {createIpc} from '../../../src/core/ipc/create.js'
import {parseConfig} from '../../../src/core/config/load.js'
import type {Ipc} from '../../../src/core/ipc/types.js'
import {takeLease} from '../../../src/core/locks/take-lease.js'
import {cleanRedisPrefix, driversUp, engineConfig, type DriverName} from '../../support/engine.js'

/** A pid that certainly names no process now: a child that has exited and been reaped. */
function deadPid(): number {
  const child = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], {encoding: 'utf8'})
  return Number(child.stdout)
}

describe.each(['memory', 'redis'] as DriverName[])('takeLease (%s driver)', (driver) => {
  const closers: Array<() => Promise<void>> = []
  afterAll(async () => {
    for (const close of closers.reverse()) await close().catch(() => {})
  })

  async function open(): Promise<{ipc: Ipc; key: string}> {
    const config = parseConfig(engineConfig(driver, 'sqlite::memory:'))
    const ipc = await createIpc(config.ipc, {role: 'primary', serveSocket: false})
    closers.push(async () => {
      await ipc.close()
      if (driver === 'redis') await cleanRedisPrefix(config.ipc.prefix)
    })
    return {ipc, key: `${config.ipc.prefix}:lock:flush`}
  }
  const record = (pid: number, host = hostname()) => ({token: `t-${pid}-${host}`, host, pid, acquiredAt: Date.now(), fence: 1, ttlMs: 60_000})

  it.skipIf(!driversUp[driver])('takes over at once from a holder of this host whose process is gone, with a higher fence', async () => {
    const {ipc, key} = await open()
    const pid = deadPid()
    await ipc.set(key, record(pid), 60)
    await ipc.set(`${key}:fence`, 41)
    const taken = await takeLease(ipc, key, 30)
    expect(taken.lease).not.toBeNull()
    expect(taken.lease!.fence).toBe(42)
    expect(taken.tookOverFrom).toMatchObject({pid, host: hostname(), token: `t-${pid}-${hostname()}`})
    expect((await ipc.inspectLock(key))?.token).toBe(taken.lease!.token)
  })

  it.skipIf(!driversUp[driver])('leaves a live holder of this host, and any holder of another host, alone', async () => {
    const {ipc, key} = await open()
    for (const holder of [record(process.pid), record(deadPid(), `not-${hostname()}`)]) {
      await ipc.set(key, holder, 60)
      const taken = await takeLease(ipc, key, 30)
      expect(taken.lease).toBeNull()
      expect(taken.holder?.token).toBe(holder.token)
      expect((await ipc.inspectLock(key))?.token).toBe(holder.token)
    }
  })
})
