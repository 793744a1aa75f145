import {CorruptValue} from '../errors.js'
import type {Json} from '../ipc/types.js'
import type {Entry} from '../sql/entry.js'
import {IDENTIFIER} from '../config/identifiers.js'
import {decodeWhere, parseMember, parseTableMember, type WhereObject} from './keys.js'
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

  const rows = new Map<string, {members: string[]; where: WhereObject; deltas: Record<string, number>}>()
  const split = counterSplitter(batch.table)
  for (const [member, delta] of batch.counters) {
    const parsed = split(member)
    if (!parsed) throw new CorruptValue(member, counterNameReason)
    let row = rows.get(parsed.where)
    if (!row) {
      row = {members: [], where: decodeWhere(parsed.where, primaryKey, member), deltas: {}}
      rows.set(parsed.where, row)
    }
    row.members.push(member)
    addDelta(row.deltas, parsed.column, delta)
  }
  const counters: Entry[] = [...rows.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, row]) => ({kind: 'counter', members: row.members, where: row.where, deltas: row.deltas}))

  const inserts: Entry[] = batch.inserts.map((row, index) => {
    const problem = rowProblem(row)
    if (problem) throw new CorruptValue(`${batch.table} queued row ${index}`, `the row ${problem.reason}`)
    return {kind: 'insert', row: row as Record<string, Json>}
  })
  return [...updates, ...counters, ...inserts]
}

/**
 * parseMember(member, true) for the counters of one batch: members that start with the batch's
 * own (checked) table are split by position, and each column name is checked once per batch.
 */
function counterSplitter(table: string): (member: string) => {where: string; column: string} | null {
  const head = parseTableMember(table) ? `${table}:` : null
  const columns = new Map<string, boolean>()
  return (member) => {
    if (head === null || !member.startsWith(head)) {
      const parsed = parseMember(member, true)
      return parsed?.column ? {where: parsed.where, column: parsed.column} : null
    }
    const last = member.lastIndexOf(':')
    if (last <= head.length) return null
    const column = member.slice(last + 1)
    let ok = columns.get(column)
    if (ok === undefined) {
      ok = IDENTIFIER.test(column)
      columns.set(column, ok)
    }
    return ok ? {where: member.slice(head.length, last), column} : null
  }
}

/** Adds a delta to a row's column; a column named __proto__ stays an own property. */
function addDelta(deltas: Record<string, number>, column: string, delta: number): void {
  if (Object.hasOwn(deltas, column)) deltas[column] += delta
  else if (column === '__proto__') Object.defineProperty(deltas, column, {value: delta, writable: true, enumerable: true, configurable: true})
  else deltas[column] = delta
}
