import type {Ipc} from './types.js'

/** Every key matching a Redis glob, a page at a time (keys may repeat, as with SCAN). */
export async function* scanKeys(ipc: Ipc, pattern: string, count = 1000): AsyncGenerator<string[]> {
  let cursor = '0'
  do {
    const page = await ipc.scan(pattern, cursor, count)
    if (page.items.length > 0) yield page.items
    cursor = page.cursor
  } while (cursor !== '0')
}

/** Deletes every key matching a glob (tests and benchmarks clean up their own prefix with it). */
export async function deleteMatching(ipc: Ipc, pattern: string): Promise<void> {
  for await (const keys of scanKeys(ipc, pattern, 5000)) await ipc.del(...keys)
}
