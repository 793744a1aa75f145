import {IDENTIFIER, identifierRule} from '../config/identifiers.js'
import {CorruptValue, InvalidArgument} from '../errors.js'
import {fenceKeyOf} from '../ipc/driver.js'
import {describe} from '../ipc/validate.js'
import type {WhereObject} from '../sql/entry.js'
import {whereProblem} from './names.js'

export {parseMember, parseTableMember, type ParsedMember} from './members.js'

/** A row address: a scalar primary key value, or a flat object of column → scalar. */
export type Where = string | number | Record<string, string | number | boolean | null>
export type {WhereObject} from '../sql/entry.js'

/**
 * Every state key of the write buffer, under one prefix (ODAC's layout, plus wbc's own keys).
 * Index members are the keys without their `{prefix}:{kind}:` head, as ODAC writes them.
 */
export class KeySpace {
  constructor(readonly prefix: string) {
    // Built once: the hot paths use them on every write.
    this.countersIndex = `${this.prefix}:idx:counters`
    this.updatesIndex = `${this.prefix}:idx:updates`
    this.queuesIndex = `${this.prefix}:idx:queues`
    this.inflightIndex = `${this.prefix}:idx:inflight`
    this.deadLettersIndex = `${this.prefix}:idx:deadletters`
    this.badIndex = `${this.prefix}:idx:bad`
    this.flushLock = `${this.prefix}:lock:flush`
    this.flushFence = fenceKeyOf(this.flushLock)
    this.epoch = `${this.prefix}:epoch`
    this.rollback = `${this.prefix}:rollback`
    this.events = `${this.prefix}:events`
    this.lastFlush = `${this.prefix}:lastflush`
    this.blocked = `${this.prefix}:blocked`
  }

  private static readonly cache = new Map<string, KeySpace>()

  /** One shared instance per prefix (the hot paths build key names for every write). */
  static of(prefix: string): KeySpace {
    let keys = KeySpace.cache.get(prefix)
    if (!keys) {
      if (KeySpace.cache.size > 100) KeySpace.cache.clear()
      keys = new KeySpace(prefix)
      KeySpace.cache.set(prefix, keys)
    }
    return keys
  }

  counter(member: string): string {
    return `${this.prefix}:c:${member}`
  }
  base(member: string): string {
    return `${this.prefix}:b:${member}`
  }
  /** Hash counter member → delta of one batch in flight (read while the batch is in flight). */
  inflightDeltas(batchId: string): string {
    return `${this.prefix}:ifd:${batchId}`
  }
  update(member: string): string {
    return `${this.prefix}:u:${member}`
  }
  queue(table: string): string {
    return `${this.prefix}:q:${table}`
  }
  /** Hash row member → when its pending fields were last written (ms); wbc's own, moved into a batch by the claim. */
  updateTimes(table: string): string {
    return `${this.prefix}:ut:${table}`
  }
  generation(table: string): string {
    return `${this.prefix}:gen:${table}`
  }
  deadLetters(table: string): string {
    return `${this.prefix}:dl:${table}`
  }
  batch(id: string): string {
    return `${this.prefix}:if:${id}`
  }
  /** Hash {since, last}: when the table's oldest pending write and its latest write happened. */
  age(table: string): string {
    return `${this.prefix}:age:${table}`
  }
  /** Hash {writes, flushed}: running totals of buffered writes and flushed rows (for rates). */
  stats(table: string): string {
    return `${this.prefix}:stats:${table}`
  }
  /**
   * Running totals for `wbc metrics` (integers, INCRBY): entries dead-lettered and rows the
   * flush's transactions changed per table, and flushes per status. Not kept in the memory driver's checkpoint: a restart resets them, as a
   * Prometheus counter may be.
   */
  deadLetteredTotal(table: string): string {
    return `${this.prefix}:totals:deadlettered:${table}`
  }
  rowsFlushedTotal(table: string): string {
    return `${this.prefix}:totals:flushed:${table}`
  }
  flushesTotal(status: string): string {
    return `${this.prefix}:totals:flushes:${status}`
  }

  readonly countersIndex: string
  readonly updatesIndex: string
  readonly queuesIndex: string
  readonly inflightIndex: string
  readonly deadLettersIndex: string
  /** Hash `{kind}:{member}` → {reason, at} of keys moved to `{prefix}:bad:{kind}:{member}`. */
  readonly badIndex: string
  bad(kindAndMember: string): string {
    return `${this.prefix}:bad:${kindAndMember}`
  }
  /** The pending (or in-flight) key of an index member of this kind: `{prefix}:{kind}:{member}`. */
  pending(kind: 'c' | 'u' | 'q' | 'if', member: string): string {
    return `${this.prefix}:${kind}:${member}`
  }
  /** The index a member of this kind is listed in. */
  indexOf(kind: 'c' | 'u' | 'q' | 'if'): string {
    return kind === 'c' ? this.countersIndex : kind === 'u' ? this.updatesIndex : kind === 'q' ? this.queuesIndex : this.inflightIndex
  }
  readonly flushLock: string
  /** The flush lease's fence counter (kept beside the lock by the Ipc; see fenceKeyOf). */
  readonly flushFence: string
  /** The store's epoch marker (rollback detection; see rollback.ts). */
  readonly epoch: string
  /** Set by a flush that detected a rollback; every flush refuses while it exists. */
  readonly rollback: string
  /** A stream: any list under the prefix, by its name after the prefix (`events`, `q:{conn}:{table}`, …). */
  stream(name: string): string {
    return `${this.prefix}:${name}`
  }
  readonly events: string
  readonly lastFlush: string
  /** Hash `{connection}:{table}` → {reason, at}: tables whose last batch could not get at its rows (a lock, a time limit). */
  readonly blocked: string
}

export const tableMember = (connection: string, table: string) => `${connection}:${table}`
export const rowMember = (connection: string, table: string, where: string) => `${connection}:${table}:${where}`
export const counterMember = (connection: string, table: string, where: string, column: string) => `${connection}:${table}:${where}:${column}`

export function assertIdentifier(value: unknown, argument: string): asserts value is string {
  if (typeof value !== 'string' || !IDENTIFIER.test(value)) {
    throw new InvalidArgument(argument, `expected a name made of ${identifierRule}, got ${describe(value)}`, 'Table, column and connection names are identifiers; quote-worthy names are not accepted.')
  }
}

const isScalar = (value: unknown) => value === null || typeof value === 'boolean' || typeof value === 'string' || (typeof value === 'number' && Number.isFinite(value))

/**
 * `{where}` as ODAC encodes it: String(id) for a scalar, key-sorted JSON for an object. An object
 * with only the primary key is the same row as the scalar (`{id: 42}` is `42`).
 */
export function encodeWhere(where: unknown, primaryKey: string): string {
  if (typeof where === 'number' || typeof where === 'string') return encodeScalar(where, 'where')
  if (!where || typeof where !== 'object' || Array.isArray(where) || Object.getPrototypeOf(where) !== Object.prototype) {
    throw new InvalidArgument('where', `expected a primary key value or a flat object of column values, got ${describe(where)}`)
  }
  const columns = Object.keys(where).sort()
  if (columns.length === 0) throw new InvalidArgument('where', 'is an empty object; name at least one column')
  const pairs: Array<[string, unknown]> = []
  for (const column of columns) {
    assertIdentifier(column, `where.${column}`)
    const value = (where as Record<string, unknown>)[column]
    if (!isScalar(value) || value === null) {
      throw new InvalidArgument(`where.${column}`, `expected a string, a finite number or a boolean, got ${describe(value)}`)
    }
    pairs.push([column, value])
  }
  // Own properties even for a column named __proto__ (an assignment would set the prototype).
  const sorted = Object.fromEntries(pairs) as Record<string, unknown>
  if (columns.length === 1 && columns[0] === primaryKey) {
    const value = sorted[primaryKey]
    if (typeof value === 'number' || typeof value === 'string') return encodeScalar(value, `where.${primaryKey}`)
  }
  return JSON.stringify(sorted)
}

function encodeScalar(value: string | number, argument: string): string {
  if (typeof value === 'number' && !Number.isFinite(value)) throw new InvalidArgument(argument, `expected a finite number, got ${describe(value)}`)
  const text = String(value)
  if (text.length === 0) throw new InvalidArgument(argument, 'is an empty string')
  if (text.startsWith('{')) throw new InvalidArgument(argument, 'a key value may not start with "{" (it would read back as a composite key)')
  if (text.length > 512) throw new InvalidArgument(argument, `is ${text.length} characters long; the limit is 512`)
  return text
}

/**
 * The where clause for SQL: the decoded object, or {primaryKey: value} for a scalar. The where was
 * read back from the state, so anyone could have written it: it is checked (names.ts) and a where
 * that is not a flat object of column names and scalars throws CorruptValue naming `key`.
 */
export function decodeWhere(encoded: string, primaryKey: string, key = encoded): WhereObject {
  const problem = whereProblem(encoded)
  if (problem) throw new CorruptValue(key, problem)
  return encoded.startsWith('{') ? (JSON.parse(encoded) as WhereObject) : {[primaryKey]: encoded}
}
