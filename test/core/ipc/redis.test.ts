import {describe, expect, it} from 'vitest'

import {parseConfig} from '../../../src/core/config/load.js'
import {createIpc} from '../../../src/core/ipc/create.js'
import {deleteMatching} from '../../../src/core/ipc/cursor.js'
import {available, urls} from '../../support/services.js'
import {ipcContract} from './contract.js'

const redisUp = await available('redis')
const redisConfig = (redis: string | Record<string, unknown> = urls.redis, extra: Record<string, unknown> = {}) => parseConfig({ipc: {driver: 'redis', redis, ...extra}}).ipc

describe.skipIf(!redisUp)('redis', () => {
  ipcContract('redis', async () => {
    const ipc = await createIpc(redisConfig())
    const peer = await createIpc(redisConfig())
    return {ipc, peer, inProcess: true, cleanup: (prefix) => deleteMatching(ipc, `${prefix}*`)}
  })
})

describe('redis unreachable', () => {
  it('fails within the connect timeout with an error that names the address, password masked', async () => {
    const started = Date.now()
    const error = await createIpc(redisConfig('redis://user:s3cret-pw@127.0.0.1:1', {connectTimeout: 800})).catch((e) => e)
    expect(error).toMatchObject({name: 'ServiceUnavailable', exitCode: 3})
    expect(error.message).toContain('redis://user:***@127.0.0.1:1')
    expect(error.message).not.toContain('s3cret-pw')
    expect(JSON.stringify(error)).not.toContain('s3cret-pw')
    expect(Date.now() - started).toBeLessThan(3000)
  })

  it('masks the password of an options object too', async () => {
    const error = await createIpc(redisConfig({host: '127.0.0.1', port: 1, password: 'hunter2'}, {connectTimeout: 500})).catch((e) => e)
    expect(error.message).toContain('redis://:***@127.0.0.1:1')
    expect(error.message).not.toContain('hunter2')
  })
})
