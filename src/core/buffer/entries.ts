import {CorruptValue} from '../errors.js'
import type {Json} from '../ipc/types.js'
import type {Entry} from '../sql/entry.js'
import {decodeWhere, parseMember} from './keys.js'
import {counterNameReason, fieldsProblem, rowProblem, updateNameReason} from './names.js'
import type {StoredBatch} from './steps/index.js'

export type {Entry} from '../sql/entry.js'

/**
 * The entries of a batch in the order they are applied: column updates, then counter increments
 * (one entry per row, all its columns), then inserts in queue order. The order is derived only
 * from the stored batch, so a recovering process numbers entries exactly as the crashed one did.
 * Every name is checked again here (decodeBatch did, but a batch may come from anywhere): a name
 * that is not an identifier throws CorruptValue, it never becomes SQL.
 */
export function entriesOf(batch: StoredBatch, primaryKey: string): Entry[] {
  const updates: Entry[] = [...batch.updates]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([member, fields, at]) => {
      const parsed = parseMember(member, false)
      if (!parsed) throw new CorruptValue(member, updateNameReason)
      const problem = fieldsProblem(Object.keys(fields))
      if (problem) throw new CorruptValue(member, problem)
      return {kind: 'update', member, where: decodeWhere(parsed.where, primaryKey, member), fields, ...(at === undefined ? {} : {at})}
    })

  const rows = new Map<string, {members: string[]; deltas: Map<string, number>}>()
  for (const [member, delta] of batch.counters) {
    const parsed = parseMember(member, true)
    if (!parsed?.column) throw new CorruptValue(member, counterNameReason)
    let row = rows.get(parsed.where)
    if (!row) {
      decodeWhere(parsed.where, primaryKey, member)
      row = {members: [], deltas: new Map()}
      rows.set(parsed.where, row)
    }
    row.members.push(member)
    row.deltas.set(parsed.column, (row.deltas.get(parsed.column) ?? 0) + delta)
  }
  const counters: Entry[] = [...rows.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    // Object.fromEntries: a column named __proto__ stays an own property.
    .map(([where, row]) => ({kind: 'counter', members: row.members, where: decodeWhere(where, primaryKey, row.members[0]), deltas: Object.fromEntries(row.deltas)}))

  const inserts: Entry[] = batch.inserts.map((row, index) => {
    const problem = rowProblem(row)
    if (problem) throw new CorruptValue(`${batch.table} queued row ${index}`, `the row ${problem.reason}`)
    return {kind: 'insert', row: row as Record<string, Json>}
  })
  return [...updates, ...counters, ...inserts]
}
