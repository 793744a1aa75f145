import {mkdtempSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {afterAll, beforeAll} from 'vitest'

import {createWriteBuffer, type WriteBuffer, type WriteBufferOptions} from '../../src/core/buffer/write-buffer.js'
import type {WbcConfigInput} from '../../src/core/config/schema.js'
import {createIpc} from '../../src/core/ipc/create.js'
import {deleteMatching} from '../../src/core/ipc/cursor.js'
import {parseConfig} from '../../src/core/config/load.js'
import {openTestDb, type DialectName, type TestDb} from './db.js'
import {available, uniquePrefix, urls} from './services.js'

export type DriverName = 'memory' | 'redis'

export const driversUp: Record<DriverName, boolean> = {memory: true, redis: await available('redis')}

/** A config for one test: its own prefix (and socket/checkpoint under a temp folder). */
export function engineConfig(driver: DriverName, dbUrl: string, prefix = uniquePrefix()): WbcConfigInput {
  const dir = mkdtempSync(join(tmpdir(), 'wbc-engine-'))
  return {
    ipc: driver === 'redis' ? {driver, redis: urls.redis, prefix} : {driver, prefix, socket: join(dir, 'wbc.sock')},
    connections: {default: dbUrl},
    buffer: {flushInterval: 60_000, checkpointPath: join(dir, 'checkpoint.lmdb')},
  }
}

export function openEngine(config: WbcConfigInput, options: WriteBufferOptions = {}): Promise<WriteBuffer> {
  return createWriteBuffer(config, {timers: false, serveSocket: false, ...options})
}

/** Removes every Redis key under a test prefix (never anything else). */
export async function cleanRedisPrefix(prefix: string): Promise<void> {
  const ipc = await createIpc(parseConfig({ipc: {driver: 'redis', redis: urls.redis}}).ipc)
  await deleteMatching(ipc, `${prefix}:*`)
  await ipc.close()
}

export interface OpenedRedisEngine {
  db: TestDb
  config: WbcConfigInput
  wb: WriteBuffer
}

/**
 * For a describe block: before it, a test database and a redis-driver engine (1 s lease) under
 * `prefix`, handed to `use`; after it, the engine closed, the tables dropped and the prefix's keys removed.
 */
export function redisEngineFor(dialect: DialectName, up: boolean, prefix: string, use: (opened: OpenedRedisEngine) => void): void {
  let opened: OpenedRedisEngine | undefined
  beforeAll(async () => {
    if (!up) return
    const db = await openTestDb(dialect)
    const config = engineConfig('redis', db.url, prefix)
    opened = {db, config, wb: await openEngine(config, {leaseTtlMs: 1000})}
    use(opened)
  })
  afterAll(async () => {
    if (!opened) return
    await opened.wb.close()
    await opened.db.cleanup()
    await cleanRedisPrefix(prefix)
  })
}
