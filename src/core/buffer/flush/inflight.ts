import type {Ipc} from '../../ipc/types.js'
import type {LeftInFlight} from '../interrupted.js'
import {parseTableMember, type KeySpace} from '../keys.js'

/** Members asked for per SSCAN page. */
export const SCAN_COUNT = 1000

/** Every member of a set, a page at a time (a member the scan returns twice is listed once). */
export async function scanAll(ipc: Ipc, key: string): Promise<string[]> {
  const members = new Set<string>()
  let cursor = '0'
  do {
    const page = await ipc.sscan(key, cursor, SCAN_COUNT)
    page.items.forEach((member) => members.add(member))
    cursor = page.cursor
  } while (cursor !== '0')
  return [...members]
}

/** Every batch id in flight under this prefix. */
export function inflightIds(ipc: Ipc, keys: KeySpace): Promise<string[]> {
  return scanAll(ipc, keys.inflightIndex)
}

/** The batches in flight now, per table (after an interrupted flush: what the next one finishes). */
export async function leftInFlight(ipc: Ipc, keys: KeySpace): Promise<LeftInFlight[]> {
  const tables = new Map<string, LeftInFlight>()
  for (const id of await inflightIds(ipc, keys).catch(() => [])) {
    const raw = await ipc.get(keys.batch(id)).catch(() => null)
    const table = raw && typeof raw === 'object' && !Array.isArray(raw) && typeof raw.table === 'string' ? raw.table : null
    const parsed = table ? parseTableMember(table) : null
    const key = parsed ? `${parsed.connection}:${parsed.table}` : '?:?'
    const entry = tables.get(key) ?? {connection: parsed?.connection ?? '?', table: parsed?.table ?? '?', batches: 0}
    entry.batches++
    tables.set(key, entry)
  }
  return [...tables.values()].sort((a, b) => `${a.connection}:${a.table}`.localeCompare(`${b.connection}:${b.table}`))
}
