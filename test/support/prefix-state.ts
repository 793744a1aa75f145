import {scanKeys} from '../../src/core/ipc/cursor.js'
import type {Ipc} from '../../src/core/ipc/types.js'

/** Every key under `{prefix}:`, sorted, with its type and whole content (set members sorted). */
export async function readPrefixState(ipc: Ipc, prefix: string): Promise<Map<string, {type: string; content: unknown}>> {
  const keys = new Set<string>()
  for await (const page of scanKeys(ipc, `${prefix}:*`, 500)) page.forEach((key) => keys.add(key))
  const state = new Map<string, {type: string; content: unknown}>()
  for (const key of [...keys].sort()) {
    const type = await ipc.type(key)
    let content: unknown = type
    if (type === 'string') content = await ipc.get(key)
    else if (type === 'hash') content = await ipc.hgetall(key)
    else if (type === 'list') content = await ipc.lrange(key, 0, -1)
    else if (type === 'set') content = (await ipc.smembers(key)).sort()
    state.set(key, {type, content})
  }
  return state
}
