import {Redis} from '../ipc/redis/ioredis.js'

import type {RedisTarget} from '../ipc/redis/driver.js'

/** How a Redis keeps its data across a restart, as `CONFIG GET` tells (null where CONFIG is disabled). */
export interface RedisPersistence {
  appendonly: string | null
  appendfsync: string | null
  save: string | null
}

export async function readPersistence(target: RedisTarget, timeoutMs = 3000): Promise<RedisPersistence> {
  const options = {lazyConnect: true, connectTimeout: timeoutMs, commandTimeout: timeoutMs, maxRetriesPerRequest: 1, retryStrategy: () => null}
  const redis = typeof target === 'string' ? new Redis(target, options) : new Redis({...(target as object), ...options})
  redis.on('error', () => {})
  const get = async (name: string): Promise<string | null> => {
    try {
      const reply = (await redis.config('GET', name)) as string[]
      return reply.length >= 2 ? String(reply[1]) : null
    } catch {
      return null // CONFIG renamed or disabled (managed Redis): unknown.
    }
  }
  try {
    await redis.connect()
    return {appendonly: await get('appendonly'), appendfsync: await get('appendfsync'), save: await get('save')}
  } finally {
    redis.disconnect()
  }
}

/** A warning for a Redis that can come back older than the database after a restart; null when it cannot. */
export function persistenceWarning(p: RedisPersistence): string | null {
  if (p.appendonly === null) return 'persistence unknown (CONFIG GET is not available): without an append-only file, a Redis restart brings back writes already flushed'
  if (p.appendonly !== 'yes') {
    return `no append-only file (appendonly ${p.appendonly}${p.save ? `, snapshots "${p.save}"` : ''}): a restart returns to the last snapshot — writes since are lost and writes flushed since come back (wbc then refuses to flush, exit 7); set appendonly yes`
  }
  return null
}
