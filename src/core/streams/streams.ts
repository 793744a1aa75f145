import {WbcError} from '../errors.js'
import {scanKeys} from '../ipc/cursor.js'
import type {Ipc, Json} from '../ipc/types.js'
import {entryTime, policyFor, type StreamPolicy} from './policy.js'
import type {StreamPolicyInput} from '../config/schema.js'

export type StreamKind = 'queue' | 'events' | 'list'

export interface StreamInfo {
  /** The key without the prefix, e.g. `q:default:activity_log` or `events`. */
  name: string
  key: string
  kind: StreamKind
  length: number
  oldestAgeMs: number | null
  newestAgeMs: number | null
  /** Estimated from the first entries. */
  approxBytes: number
  policy: StreamPolicy | null
}

export const kindOf = (name: string): StreamKind => (name.startsWith('q:') ? 'queue' : name === 'events' ? 'events' : 'list')

/** Every list under the prefix, found with a cursor; only bounded reads per stream. */
export async function listStreams(ipc: Ipc, prefix: string, policies: Record<string, StreamPolicyInput>, now = Date.now()): Promise<StreamInfo[]> {
  const keys = new Set<string>()
  for await (const page of scanKeys(ipc, `${prefix}:*`)) page.forEach((key) => keys.add(key))
  const streams: StreamInfo[] = []
  for (const key of [...keys].sort()) {
    if ((await ipc.type(key)) !== 'list') continue
    const name = key.slice(prefix.length + 1)
    const policy = policyFor(name, policies)
    const length = await ipc.llen(key)
    if (length === 0) continue
    const sample = await ipc.lrange(key, 0, 99).catch(() => [] as Json[])
    const last = await ipc.lrange(key, -1, -1).catch(() => [] as Json[])
    const field = policy?.timeField ?? 'at'
    const first = entryTime(sample[0], field)
    const newest = entryTime(last[0], field)
    const bytes = sample.reduce<number>((n, item) => n + JSON.stringify(item).length, 0)
    streams.push({
      name,
      key,
      kind: kindOf(name),
      length,
      oldestAgeMs: first === null ? null : Math.max(0, now - first),
      newestAgeMs: newest === null ? null : Math.max(0, now - newest),
      approxBytes: sample.length ? Math.round((bytes / sample.length) * length) : 0,
      policy,
    })
  }
  return streams
}

export function streamKey(prefix: string, name: string): string {
  const bare = name.startsWith(`${prefix}:`) ? name.slice(prefix.length + 1) : name
  if (!bare) throw new WbcError('NO_SUCH_STREAM', 'name a stream', {exitCode: 2, hint: 'See `wbc streams` for their names.'})
  return `${prefix}:${bare}`
}

export interface TailPage {
  entries: Array<{index: number; entry: Json}>
  /** The index to continue from (--cursor); equal to the length when at the end. */
  cursor: number
  length: number
}

/** One page of a stream from `cursor` (an index; negative counts from the end). Never the whole stream. */
export async function tailStream(ipc: Ipc, key: string, cursor: number, limit: number): Promise<TailPage> {
  const type = await ipc.type(key)
  if (type !== 'list') {
    throw new WbcError('NO_SUCH_STREAM', `${key} is ${type === 'none' ? 'empty or missing' : `a ${type}, not a stream`}`, {exitCode: 2, hint: 'See `wbc streams` for their names.'})
  }
  const length = await ipc.llen(key)
  const start = cursor < 0 ? Math.max(0, length + cursor) : cursor
  const items = await ipc.lrange(key, start, start + limit - 1)
  return {entries: items.map((entry, i) => ({index: start + i, entry})), cursor: start + items.length, length}
}
