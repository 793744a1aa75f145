import {KeySpace, parseMember, parseTableMember} from '../buffer/keys.js'
import {targetMatcher, type TargetFilter} from '../buffer/target-filter.js'
import {InvalidArgument} from '../errors.js'
import type {Ipc, Json} from '../ipc/types.js'

export type PendingType = 'counter' | 'update' | 'insert'

export interface PendingEntry {
  type: PendingType
  connection: string
  table: string
  where?: string
  column?: string
  /** Shown only when asked for (--show-values): deltas, column values and rows may be personal data. */
  value?: Json
}

export interface PendingPage {
  entries: PendingEntry[]
  /** Pass it back (--cursor) for the next page; null at the end. */
  cursor: string | null
}

const ORDER: PendingType[] = ['counter', 'update', 'insert']

/**
 * Pending entries a page at a time. The cursor names the phase and its position:
 * `counter:<sscan cursor>:<items read of that page>`, `update:…` likewise, `insert:<table index>:<offset>`.
 */
export async function readPending(ipc: Ipc, prefix: string, options: TargetFilter & {type?: PendingType; limit: number; cursor?: string; showValues?: boolean}): Promise<PendingPage> {
  const keys = new KeySpace(prefix)
  const types = options.type ? [options.type] : ORDER
  let [phase, position, offset] = parseCursor(options.cursor ?? `${types[0]}:0`, types)
  const entries: PendingEntry[] = []
  const matches = targetMatcher(options)

  while (entries.length < options.limit) {
    if (phase === 'insert') {
      const tables = (await ipc.smembers(keys.queuesIndex)).filter((m) => parseTableMember(m)).sort()
      let index = Number(position)
      while (index < tables.length && entries.length < options.limit) {
        const parsed = parseTableMember(tables[index])!
        if (!matches(parsed.connection, parsed.table)) {
          index++
          offset = 0
          continue
        }
        const want = options.limit - entries.length
        const rows = await ipc.lrange(keys.queue(tables[index]), offset, offset + want - 1)
        for (const row of rows) entries.push({type: 'insert', ...parsed, ...(options.showValues ? {value: row} : {})})
        offset += rows.length
        if (rows.length < want) {
          index++
          offset = 0
        }
      }
      return {entries, cursor: index < tables.length ? `insert:${index}:${offset}` : null}
    }
    // The same COUNT on every page, so a page can be read again to resume after `offset` items.
    const page = await ipc.sscan(phase === 'counter' ? keys.countersIndex : keys.updatesIndex, position, options.limit)
    for (let i = offset; i < page.items.length; i++) {
      if (entries.length >= options.limit) return {entries, cursor: `${phase}:${position}:${i}`}
      const member = page.items[i]
      const parsed = parseMember(member, phase === 'counter')
      if (!parsed || !matches(parsed.connection, parsed.table)) continue
      const entry: PendingEntry = {type: phase, ...parsed}
      if (options.showValues) entry.value = phase === 'counter' ? await ipc.get(keys.counter(member)) : await ipc.hgetall(keys.update(member))
      entries.push(entry)
    }
    position = page.cursor
    offset = 0
    if (position === '0') {
      const next = types[types.indexOf(phase) + 1]
      if (!next) return {entries, cursor: null}
      phase = next
    }
  }
  return {entries, cursor: `${phase}:${position}:${offset}`}
}

function parseCursor(cursor: string, types: PendingType[]): [PendingType, string, number] {
  const match = /^(counter|update|insert):(\d+)(?::(\d+))?$/.exec(cursor)
  if (!match || !types.includes(match[1] as PendingType)) {
    throw new InvalidArgument('--cursor', `"${cursor}" is not a cursor of this listing`, 'Pass the cursor the previous page printed, or none to start.')
  }
  return [match[1] as PendingType, match[2], Number(match[3] ?? 0)]
}
