import {ExitCode, WbcError} from '../errors.js'
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
  if (!bare) throw new WbcError('NO_SUCH_STREAM', 'name a stream', {exitCode: ExitCode.usage, hint: 'See `wbc streams` for their names.'})
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
    throw new WbcError('NO_SUCH_STREAM', `${key} is ${type === 'none' ? 'empty or missing' : `a ${type}, not a stream`}`, {exitCode: ExitCode.usage, hint: 'See `wbc streams` for their names.'})
  }
  const length = await ipc.llen(key)
  const start = cursor < 0 ? Math.max(0, length + cursor) : cursor
  const items = await ipc.lrange(key, start, start + limit - 1)
  return {entries: items.map((entry, i) => ({index: start + i, entry})), cursor: start + items.length, length}
}

/** What a follower read since its last call. */
export interface FollowStep {
  entries: Array<{index: number; entry: Json}>
  /** Entries went (trimmed or claimed from the head) before they could be read: the follower continues with the newest. */
  lost: boolean
  /** The stream's length when read (0: empty or missing). */
  length: number
}

const SEARCH_BACK = 1000

/**
 * Follows a stream that grows at the tail and loses entries at the head (the event stream is
 * trimmed after every append; a flush claims queued rows from the head): an index alone would
 * stop seeing new entries once the head moves, so the follower finds the last entry it printed
 * again (its text, and the one before it) and continues after it. A stream that is empty or does
 * not exist yet is waited for; one of another type is refused.
 */
export class StreamFollower {
  private last: {index: number; text: string; before: string | null} | null = null

  constructor(
    private readonly ipc: Ipc,
    private readonly key: string,
    /** Where to start: an index, negative from the end (as `tailStream`). */
    private start: number,
    private readonly limit: number,
  ) {}

  async next(): Promise<FollowStep> {
    const type = await this.ipc.type(this.key)
    if (type !== 'list' && type !== 'none') throw new WbcError('NO_SUCH_STREAM', `${this.key} is a ${type}, not a stream`, {exitCode: ExitCode.usage, hint: 'See `wbc streams` for their names.'})
    const length = type === 'none' ? 0 : await this.ipc.llen(this.key)
    let from: number
    let lost = false
    if (this.last === null) from = this.start < 0 ? Math.max(0, length + this.start) : Math.min(this.start, length)
    else {
      const at = await this.findLast(length)
      if (at === null) {
        // Everything after the last entry printed went before it was read, or the stream was emptied.
        lost = length > 0
        from = lost ? Math.max(0, length - this.limit) : 0
      } else from = at + 1
    }
    const items = from < length ? await this.ipc.lrange(this.key, from, from + this.limit - 1) : []
    const entries = items.map((entry, i) => ({index: from + i, entry}))
    if (entries.length > 0) {
      const tail = entries[entries.length - 1]
      const before = entries.length > 1 ? JSON.stringify(entries[entries.length - 2].entry) : this.last && !lost ? this.last.text : null
      this.last = {index: tail.index, text: JSON.stringify(tail.entry), before}
    } else if (this.last === null) {
      // Nothing printed yet: what arrives from here on is new (an empty stream: all of it).
      this.start = from
    }
    return {entries, lost, length}
  }

  /** Where the last printed entry is now: at its index, or moved towards the head. */
  private async findLast(length: number): Promise<number | null> {
    const last = this.last!
    const hi = Math.min(last.index, length - 1)
    if (hi < 0) return null
    const lo = Math.max(0, hi - SEARCH_BACK)
    const window = (await this.ipc.lrange(this.key, lo, hi)).map((e) => JSON.stringify(e))
    for (let i = window.length - 1; i >= 0; i--) {
      if (window[i] !== last.text) continue
      // The entry before it agrees too (when known and in the window): identical entries are common in queues.
      if (last.before !== null && i > 0 && window[i - 1] !== last.before) continue
      return lo + i
    }
    return null
  }
}
