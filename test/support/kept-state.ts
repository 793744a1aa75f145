import type {Ipc, Json} from '../../src/core/ipc/types.js'

/**
 * wbc's own state that the memory checkpoint keeps besides pending writes: dead letters,
 * quarantine (keys and reasons), the event stream, the last flush record and the fence counter.
 */
export async function readKeptState(ipc: Ipc, prefix: string): Promise<Record<string, Json>> {
  const deadLetterTables = (await ipc.smembers(`${prefix}:idx:deadletters`)).sort()
  const deadLetters: Record<string, Json> = {}
  for (const table of deadLetterTables) deadLetters[table] = (await ipc.hgetall<Json>(`${prefix}:dl:${table}`)) as Json
  const badIndex = (await ipc.hgetall<Json>(`${prefix}:idx:bad`)) ?? {}
  const badKeys: Record<string, Json> = {}
  for (const field of Object.keys(badIndex).sort()) {
    const key = `${prefix}:bad:${field}`
    const type = await ipc.type(key)
    badKeys[field] = {type, value: type === 'string' ? await ipc.get(key) : type === 'list' ? await ipc.lrange(key, 0, -1) : type === 'hash' ? ((await ipc.hgetall<Json>(key)) as Json) : null}
  }
  return {
    deadLetterTables,
    deadLetters,
    badIndex: badIndex as Json,
    badKeys,
    events: await ipc.lrange(`${prefix}:events`, 0, -1),
    lastflush: await ipc.get(`${prefix}:lastflush`),
    fence: await ipc.get(`${prefix}:lock:flush:fence`),
  }
}
