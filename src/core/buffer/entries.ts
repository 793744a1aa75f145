import type {Json} from '../ipc/types.js'
import {decodeWhere, parseMember, type WhereObject} from './keys.js'
import type {StoredBatch} from './steps.js'

export type Entry =
  | {
      kind: 'update'
      member: string
      where: WhereObject
      fields: Record<string, Json>
      /** When the row's fields were last written (ms), if the state recorded it; orders updates that reach one row. */
      at?: number
    }
  | {kind: 'counter'; members: string[]; where: WhereObject; deltas: Record<string, number>}
  | {kind: 'insert'; row: Record<string, Json>}

/**
 * The entries of a batch in the order they are applied: column updates, then counter increments
 * (one entry per row, all its columns), then inserts in queue order. The order is derived only
 * from the stored batch, so a recovering process numbers entries exactly as the crashed one did.
 */
export function entriesOf(batch: StoredBatch, primaryKey: string): Entry[] {
  const updates: Entry[] = [...batch.updates]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([member, fields, at]) => ({kind: 'update', member, where: whereOf(member, false, primaryKey), fields, ...(at === undefined ? {} : {at})}))

  const rows = new Map<string, {members: string[]; deltas: Record<string, number>}>()
  for (const [member, delta] of batch.counters) {
    const parsed = parseMember(member, true)
    if (!parsed?.column) continue
    let row = rows.get(parsed.where)
    if (!row) {
      row = {members: [], deltas: {}}
      rows.set(parsed.where, row)
    }
    row.members.push(member)
    row.deltas[parsed.column] = (row.deltas[parsed.column] ?? 0) + delta
  }
  const counters: Entry[] = [...rows.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([where, row]) => ({kind: 'counter', members: row.members, where: decodeWhere(where, primaryKey), deltas: row.deltas}))

  const inserts: Entry[] = batch.inserts.map((row) => ({kind: 'insert', row: row as Record<string, Json>}))
  return [...updates, ...counters, ...inserts]
}

function whereOf(member: string, withColumn: boolean, primaryKey: string): WhereObject {
  const parsed = parseMember(member, withColumn)
  return decodeWhere(parsed?.where ?? '', primaryKey)
}
