import type {Ipc, Json} from '../ipc/types.js'
import type {Databases} from '../sql/databases.js'
import {LEDGER_TABLE, ledgerRanges, type LedgerRange} from '../sql/ledger.js'
import {formatRefusal, parseRefusalText, type Refusal} from '../sql/refusal.js'
import type {Entry} from './entries.js'
import {encodeWhere, KeySpace, parseTableMember, rowMember, counterMember} from './keys.js'
import type {RequeueEntry} from './steps/index.js'
import {stepsFor} from './steps/index.js'

export interface DeadLetter {
  /** `{batchId}:{entry index}`: the same entry dead-lettered twice is one dead letter. */
  id: string
  connection: string
  table: string
  kind: Entry['kind']
  entry: Json
  /** The reason, first and on one line: code, constraint, the database's message (`formatRefusal`). */
  error: string
  at: number
  /** The reason in parts. Records written before it was kept have it parsed from `error`. */
  reason: Refusal
  /** The statement the database refused (bounded); null when not known (older records, or no statement failed). */
  statement: string | null
  /** Transactions that held this entry before it was set aside (the whole batch, each split, itself alone); null when not recorded. */
  attempts: number | null
}

/** What the flusher knows of a refusal when it writes a dead letter. */
export interface RefusalRecord {
  reason: Refusal
  statement?: string | null
  attempts?: number
}

/** What a retry did with each dead letter it was given. */
export interface RetryResult {
  /** Put back into the buffer. */
  retried: string[]
  /** Removed without re-buffering: the ledger shows their entry applied (a retry would apply it twice). */
  alreadyApplied: string[]
  /** Left alone: their batch is still in flight (the next flush or `wbc recover` finishes it first). */
  inFlight: string[]
}

/** The ledger rows of a batch in the database of a connection (empty when the ledger does not exist). */
export type LedgerLookup = (connection: string, batchId: string) => Promise<LedgerRange[]>

export function ledgerLookup(dbs: Databases): LedgerLookup {
  return async (connection, batchId) => {
    const db = dbs.get(connection)
    if (!(await db.knex.schema.hasTable(LEDGER_TABLE))) return []
    return ledgerRanges(db.knex, batchId)
  }
}

/** The text of a dead letter rewritten by recovery: the database's own error was not kept. */
export const RESTORED_ERROR = 'the database refused this entry (its error was lost when the flusher stopped; a retry shows it again)'

/**
 * Entries the database refused (constraint, type, unknown column, no such row), one hash per
 * table. Nothing is dropped silently: they stay here until retried or dropped by someone.
 */
export class DeadLetters {
  private readonly keys: KeySpace

  constructor(
    private readonly ipc: Ipc,
    prefix: string,
    private readonly primaryKey: string,
    /** Where retry reads the ledger of a dead letter's batch (its connection's database). */
    private readonly ledger?: LedgerLookup,
  ) {
    this.keys = new KeySpace(prefix)
  }

  async add(connection: string, table: string, id: string, entry: Entry, refused: string | RefusalRecord): Promise<void> {
    const member = `${connection}:${table}`
    const why: RefusalRecord = typeof refused === 'string' ? {reason: {code: null, constraint: null, message: refused}} : refused
    const record: DeadLetter = {
      id,
      connection,
      table,
      kind: entry.kind,
      entry: toJson(entry),
      error: formatRefusal(why.reason),
      at: Date.now(),
      reason: why.reason,
      statement: why.statement ?? null,
      attempts: why.attempts ?? null,
    }
    await this.ipc.sadd(this.keys.deadLettersIndex, member)
    const added = await this.ipc.hset(this.keys.deadLetters(member), {[id]: record as unknown as Json})
    // A running total for `wbc metrics` (a dead letter written again is not counted twice).
    if (added > 0) await this.ipc.incrBy(this.keys.deadLetteredTotal(member), 1)
  }

  /**
   * Writes the dead letters of a batch's `dead` ledger ranges that are missing (a flusher stopped
   * between recording `dead` and writing the dead letter). Only while the batch is in flight:
   * a retry refuses dead letters of batches in flight, so none can have been retried meanwhile.
   */
  async restore(connection: string, table: string, batchId: string, entries: Entry[], ranges: LedgerRange[]): Promise<number> {
    const dead = ranges.filter((r) => r.outcome === 'dead')
    if (dead.length === 0) return 0
    const existing = (await this.ipc.hgetall(this.keys.deadLetters(`${connection}:${table}`))) ?? {}
    let restored = 0
    for (const range of dead) {
      for (let i = range.lo; i < range.hi; i++) {
        const id = `${batchId}:${i}`
        if (existing[id] !== undefined || !entries[i]) continue
        await this.add(connection, table, id, entries[i], RESTORED_ERROR)
        restored++
      }
    }
    return restored
  }

  /** The tables that have dead letters, as `{connection}:{table}`. */
  async tables(): Promise<Array<{connection: string; table: string}>> {
    const members = await this.ipc.smembers(this.keys.deadLettersIndex)
    return members.map(parseTableMember).filter((t): t is {connection: string; table: string} => t !== null)
  }

  async list(connection: string, table: string): Promise<DeadLetter[]> {
    const all = await this.ipc.hgetall<Json>(this.keys.deadLetters(`${connection}:${table}`))
    return Object.values(all ?? {})
      .map(readable)
      .sort((a, b) => a.at - b.at || (a.id < b.id ? -1 : 1))
  }

  /** One dead letter by its id, looked up in the given tables (all tables with dead letters by default); null when none has it. */
  async find(id: string, tables?: Array<{connection: string; table: string}>): Promise<DeadLetter | null> {
    for (const t of tables ?? (await this.tables())) {
      const raw = (await this.ipc.hgetall<Json>(this.keys.deadLetters(`${t.connection}:${t.table}`)))?.[id]
      if (raw !== undefined) return readable(raw)
    }
    return null
  }

  /**
   * Puts entries back into the buffer (the next flush tries them again). Each is removed from the
   * dead letters and re-buffered in one atomic step, so retrying twice counts it once. Refused
   * per dead letter: while its batch is in flight (it may still be finished, and its dead letter
   * rewritten), and when the ledger shows its entry applied (dropped: retrying would apply it
   * twice). An update's fields written since (pending in the buffer) are kept, not overwritten.
   */
  async retry(connection: string, table: string, ids: string[]): Promise<RetryResult> {
    const ledger = this.ledger
    if (!ledger) throw new Error('DeadLetters.retry needs the ledger lookup (constructor argument)')
    const result: RetryResult = {retried: [], alreadyApplied: [], inFlight: []}
    for (const letter of await this.pick(connection, table, ids)) {
      const {batchId, index} = splitId(letter.id)
      if (batchId && (await this.ipc.get(this.keys.batch(batchId))) !== null) {
        result.inFlight.push(letter.id)
        continue
      }
      if (batchId && index !== null) {
        const ranges = await ledger(connection, batchId)
        if (ranges.some((r) => r.outcome === 'applied' && r.lo <= index && index < r.hi)) {
          await this.remove(connection, table, letter.id)
          result.alreadyApplied.push(letter.id)
          continue
        }
      }
      if (await stepsFor(this.ipc).requeue(this.keys.prefix, `${connection}:${table}`, letter.id, this.requeueEntry(letter))) result.retried.push(letter.id)
    }
    return result
  }

  async drop(connection: string, table: string, ids: string[]): Promise<number> {
    let dropped = 0
    for (const letter of await this.pick(connection, table, ids)) {
      await this.remove(connection, table, letter.id)
      dropped++
    }
    return dropped
  }

  private async pick(connection: string, table: string, ids: string[]): Promise<DeadLetter[]> {
    const all = await this.list(connection, table)
    return ids.length === 0 ? all : all.filter((letter) => ids.includes(letter.id))
  }

  private async remove(connection: string, table: string, id: string): Promise<void> {
    const member = `${connection}:${table}`
    await this.ipc.hdel(this.keys.deadLetters(member), id)
  }

  private requeueEntry(letter: DeadLetter): RequeueEntry {
    const entry = letter.entry as Record<string, Json>
    const {connection, table} = letter
    if (letter.kind === 'insert') return {kind: 'insert', row: entry.row}
    const where = encodeWhere(entry.where, this.primaryKey)
    if (letter.kind === 'update') return {kind: 'update', member: rowMember(connection, table, where), fields: entry.fields as Record<string, Json>}
    return {kind: 'counter', deltas: Object.entries(entry.deltas as Record<string, number>).map(([column, delta]) => [counterMember(connection, table, where, column), delta])}
  }
}

/** A stored record as `DeadLetter`: an older one (the statement in front of the error) gets its reason parsed out. */
export function readable(stored: Json): DeadLetter {
  const record = (stored && typeof stored === 'object' && !Array.isArray(stored) ? stored : {}) as unknown as DeadLetter
  if (record.reason && typeof record.reason === 'object') return {...record, statement: record.statement ?? null, attempts: record.attempts ?? null}
  const {refusal, statement} = parseRefusalText(String(record.error ?? ''))
  // `error` stays as stored (a script may match it); the views show `formatRefusal(reason)`.
  return {...record, reason: refusal, statement, attempts: null}
}

/** `{batchId}:{entry index}` → its parts (ids written by others may not have them). */
function splitId(id: string): {batchId: string | null; index: number | null} {
  const at = id.lastIndexOf(':')
  if (at <= 0) return {batchId: null, index: null}
  const index = Number(id.slice(at + 1))
  return {batchId: id.slice(0, at), index: Number.isInteger(index) && index >= 0 ? index : null}
}

function toJson(entry: Entry): Json {
  if (entry.kind === 'insert') return {row: entry.row}
  if (entry.kind === 'update') return {where: entry.where, fields: entry.fields}
  return {where: entry.where, deltas: entry.deltas}
}
