import {Redis} from 'ioredis'
import {afterAll, beforeAll} from 'vitest'

import {parseConfig} from '../../src/core/config/load.js'
import {createIpc} from '../../src/core/ipc/create.js'
import {deleteMatching} from '../../src/core/ipc/cursor.js'
import type {Ipc} from '../../src/core/ipc/types.js'
import {urls} from './services.js'

/**
 * For a describe block that runs Redis steps directly: an Ipc on the test Redis and a raw client
 * to write state the steps did not (opened before the tests, closed after them, with every key
 * under `prefix` deleted). Read `ipc` and `raw` inside the tests.
 */
export function redisStepsOn(prefix: string): {readonly ipc: Ipc; readonly raw: Redis} {
  let ipc: Ipc | undefined
  let raw: Redis | undefined
  beforeAll(async () => {
    ipc = await createIpc(parseConfig({ipc: {driver: 'redis', redis: urls.redis}}).ipc)
    raw = new Redis(urls.redis)
  })
  afterAll(async () => {
    if (ipc) await deleteMatching(ipc, `${prefix}*`).catch(() => {})
    raw?.disconnect()
    await ipc?.close()
  })
  return {
    get ipc() {
      return ipc!
    },
    get raw() {
      return raw!
    },
  }
}
