import type {Ipc, Json} from '../ipc/types.js'
import type {Entry} from './entries.js'
import {encodeWhere, KeySpace, parseTableMember, rowMember, counterMember} from './keys.js'
import type {RequeueEntry} from './steps.js'

export interface DeadLetter {
  /** `{batchId}:{entry index}`: the same entry dead-lettered twice is one dead letter. */
  id: string
  connection: string
  table: string
  kind: Entry['kind']
  entry: Json
  error: string
  at: number
}

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
  ) {
    this.keys = new KeySpace(prefix)
  }

  async add(connection: string, table: string, id: string, entry: Entry, error: string): Promise<void> {
    const member = `${connection}:${table}`
    const record: DeadLetter = {id, connection, table, kind: entry.kind, entry: toJson(entry), error, at: Date.now()}
    await this.ipc.sadd(this.keys.deadLettersIndex, member)
    await this.ipc.hset(this.keys.deadLetters(member), {[id]: record as unknown as Json})
  }

  /** The tables that have dead letters, as `{connection}:{table}`. */
  async tables(): Promise<Array<{connection: string; table: string}>> {
    const members = await this.ipc.smembers(this.keys.deadLettersIndex)
    return members.map(parseTableMember).filter((t): t is {connection: string; table: string} => t !== null)
  }

  async list(connection: string, table: string): Promise<DeadLetter[]> {
    const all = await this.ipc.hgetall<Json>(this.keys.deadLetters(`${connection}:${table}`))
    return Object.values(all ?? {})
      .map((record) => record as unknown as DeadLetter)
      .sort((a, b) => a.at - b.at || (a.id < b.id ? -1 : 1))
  }

  /**
   * Puts entries back into the buffer (the next flush tries them again). Each is removed from the
   * dead letters and re-buffered in one atomic step, so retrying twice counts it once.
   */
  async retry(connection: string, table: string, ids: string[]): Promise<number> {
    let retried = 0
    for (const letter of await this.pick(connection, table, ids)) {
      if (await this.ipc.steps.requeue(this.keys.prefix, `${connection}:${table}`, letter.id, this.requeueEntry(letter))) retried++
    }
    return retried
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

function toJson(entry: Entry): Json {
  if (entry.kind === 'insert') return {row: entry.row}
  if (entry.kind === 'update') return {where: entry.where, fields: entry.fields}
  return {where: entry.where, deltas: entry.deltas}
}
