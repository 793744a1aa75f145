import {execFile} from 'node:child_process'
import {join} from 'node:path'
import {promisify} from 'node:util'

import {describe, expect, it} from 'vitest'

import {parseConfig} from '../../../src/core/config/load.js'
import {createIpc} from '../../../src/core/ipc/create.js'
import {available, uniquePrefix, urls} from '../../support/services.js'

const run = promisify(execFile)
const fixtures = join(import.meta.dirname, '..', '..', 'fixtures')
const tsx = (file: string, env: Record<string, string>) => run(process.execPath, ['--import', 'tsx', join(fixtures, file)], {env: {...process.env, ...env}, timeout: 120_000})

const redisUp = await available('redis')

describe('concurrent increments', () => {
  it('4 cluster workers x 10,000 incrBy on one key give exactly 40,000', async () => {
    const {stdout} = await tsx('cluster-incr.ts', {WORKERS: '4', PER_WORKER: '10000'})
    expect(JSON.parse(stdout.trim())).toEqual({total: 40000})
  })

  it.skipIf(!redisUp)('4 processes x 10,000 incrBy on one Redis key give exactly 40,000', async () => {
    const key = `${uniquePrefix()}:hits`
    await Promise.all([1, 2, 3, 4].map(() => tsx('redis-incr.ts', {REDIS_URL: urls.redis, KEY: key, COUNT: '10000'})))
    const ipc = await createIpc(parseConfig({ipc: {driver: 'redis', redis: urls.redis}}).ipc)
    try {
      expect(await ipc.get(key)).toBe(40000)
    } finally {
      await ipc.del(key)
      await ipc.close()
    }
  })
})
