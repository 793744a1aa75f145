import {CorruptValue} from '../../errors.js'
import type {Json} from '../../ipc/types.js'
import {parseTableMember} from '../keys.js'
import {badRowsReason, fieldsProblem, isObject, memberProblem, rowProblem, shown} from '../names.js'
import type {BadRows, StoredBatch} from './contract.js'

export const emptyArray = <T>(value: unknown): T[] => (Array.isArray(value) ? (value as T[]) : [])

/**
 * A batch as read back from either driver. The redis driver keeps rows and field values as the
 * JSON text they were queued as (`encoded`), and Lua encodes an empty list as `{}`. `id` is the id
 * the batch was found under (`{prefix}:if:{id}`, an index member): the ledger, the dead letters and
 * the ack address a batch by its inner id, so a batch whose inner id names another batch would be
 * recorded, and acknowledged, as that one (which is then lost).
 */
export function decodeBatch(raw: unknown, key = 'in-flight batch', id?: string, check: {rows: boolean} = {rows: true}): StoredBatch {
  const decoded = decodeBatchShape(raw, key, id)
  // Anyone able to write under the prefix can write a batch: every name in it is checked before
  // any of it is applied (the flusher first sets bad queued rows aside, then quarantines a batch
  // that still throws here, whole). A fresh claim's rows are checked by the flusher itself
  // (`rows: false`): the claim takes them unchecked.
  const problem = batchProblem(decoded, check)
  if (problem) throw new CorruptValue(key, problem)
  return decoded
}

/** decodeBatch without the name checks: what a checkpoint's restore needs to put a batch back in flight. */
export function decodeBatchShape(raw: unknown, key = 'in-flight batch', id?: string): StoredBatch {
  const batch = raw as StoredBatch & {encoded?: boolean}
  if (!batch || typeof batch !== 'object' || typeof batch.id !== 'string' || typeof batch.table !== 'string') {
    throw new CorruptValue(key, `expected a batch object with id and table, got ${JSON.stringify(raw)?.slice(0, 80)}`)
  }
  if (id !== undefined && batch.id !== id) throw new CorruptValue(key, `its id "${shown(batch.id)}" is not the id it is kept under`)
  try {
    return decodeParts(batch)
  } catch (error) {
    throw new CorruptValue(key, (error as Error).message)
  }
}

/** Why a decoded batch cannot be applied (the first problem found), or null. */
export function batchProblem(batch: StoredBatch, check: {rows: boolean} = {rows: true}): string | null {
  if (!parseTableMember(batch.table)) return `its table "${shown(batch.table)}" is not {connection}:{table}`
  const inTable = (member: string) => member.startsWith(`${batch.table}:`)
  for (const pair of batch.counters as unknown[]) {
    const [member, delta] = Array.isArray(pair) ? pair : []
    if (typeof member !== 'string') return 'a counter entry is not [member, delta]'
    const problem = memberProblem(member, true)
    if (problem) return `counter "${shown(member)}": ${problem}`
    if (!inTable(member)) return `counter "${shown(member)}" is not of the batch's table`
    if (typeof delta !== 'number' || !Number.isFinite(delta)) return `counter "${shown(member)}" has the delta ${String(delta).slice(0, 40)}, not a finite number`
  }
  for (const entry of batch.updates as unknown[]) {
    const [member, fields] = Array.isArray(entry) ? entry : []
    if (typeof member !== 'string' || !isObject(fields)) return 'an update entry is not [member, fields]'
    const problem = memberProblem(member, false) ?? fieldsProblem(Object.keys(fields))
    if (problem) return `update "${shown(member)}": ${problem}`
    if (!inTable(member)) return `update "${shown(member)}" is not of the batch's table`
  }
  for (const [index, row] of check.rows ? batch.inserts.entries() : []) {
    const problem = rowProblem(row)
    if (problem) return `queued row ${index} ${problem.reason}`
  }
  return null
}

/** The queued rows of a batch that cannot be inserted (what setAsideRows moves), or null when every one can. */
export function badRowsOf(batch: StoredBatch): BadRows | null {
  const positions: number[] = []
  let notObjects = 0
  for (let r = 0; r < batch.inserts.length; r++) {
    const problem = rowProblem(batch.inserts[r])
    if (!problem) continue
    positions.push(r)
    if (problem.notObject) notObjects++
  }
  return positions.length === 0 ? null : {count: batch.inserts.length, positions, reason: badRowsReason(notObjects, positions.length - notObjects)}
}

function parsedRow(row: Json): Json {
  if (typeof row !== 'string') return row
  try {
    return JSON.parse(row) as Json
  } catch {
    return row
  }
}

/**
 * Counter deltas may be numbers or the text Redis stored (the redis claim keeps that text: exact);
 * an update's third item, when it is a finite number (or its text), is when the row was last written.
 */
function decodeParts(batch: StoredBatch & {encoded?: boolean}): StoredBatch {
  const counters = emptyArray<[string, number]>(batch.counters).map(([member, delta]) => [member, Number(delta)] as [string, number])
  let inserts = emptyArray<Json>(batch.inserts)
  const updates = emptyArray<[string, unknown, unknown?]>(batch.updates).map(([member, raw, at]): StoredBatch['updates'][number] => {
    let fields = raw as Record<string, Json>
    if (batch.encoded) {
      const list = emptyArray<string>(raw)
      const pairs: Array<[string, Json]> = []
      for (let i = 0; i < list.length; i += 2) pairs.push([String(list[i]), JSON.parse(list[i + 1]) as Json])
      // Own properties even for a field named __proto__ (an assignment would set the prototype).
      fields = Object.fromEntries(pairs)
    }
    const time = typeof at === 'number' || typeof at === 'string' ? Number(at) : NaN
    return Number.isFinite(time) && at !== '' ? [member, fields, time] : [member, fields]
  })
  // A row that does not parse stays its text (a string: rowProblem's "not an object"), so that it
  // can be set aside alone instead of making the whole batch unreadable.
  if (batch.encoded) inserts = inserts.map(parsedRow)
  return {id: batch.id, table: batch.table, createdAt: Number(batch.createdAt), counters, updates, inserts}
}
