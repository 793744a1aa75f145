/*
 * The contract of the write buffer's atomic steps: what each takes and answers, on every driver.
 * A leaf module (types only): the memory twins (memory/), the Redis adapters (redis.ts) and their
 * Lua (lua/) implement it side by side, and the contract suite (test/core/buffer/steps) holds
 * them to it.
 */
import type {Json} from '../../ipc/types.js'

/** A batch moved out of the live state by one claim, exactly as stored while in flight. */
export interface StoredBatch {
  id: string
  /** `{connection}:{table}`. */
  table: string
  createdAt: number
  /** [counter member, delta] — the whole live delta of that key at claim time. */
  counters: Array<[string, number]>
  /**
   * [update member, fields, last write ms?] — the whole pending hash of that row at claim time, and
   * when it was last written where the state recorded it (absent for state written by others).
   */
  updates: Array<[string, Record<string, Json>] | [string, Record<string, Json>, number]>
  /** Queued rows, in queue order. */
  inserts: Json[]
}

/** A key the claim moved aside because its content cannot be flushed: `{kind}:{member}` under `{prefix}:bad:`. */
export interface QuarantinedKey {
  key: string
  reason: string
}

/** Kinds of state keys that can be quarantined: counter, update hash, queue, in-flight batch. */
export type BadKind = 'c' | 'u' | 'q' | 'if'

export interface ClaimResult {
  batch: StoredBatch | null
  quarantined: QuarantinedKey[]
  /** Redis, claiming under a lease (`lease`) and a batch was claimed: the flush fence counter, moved past this claim in the same step. */
  mark?: number
  /** Redis, claiming under a lease: that lease no longer holds, so nothing was claimed. */
  leaseLost?: boolean
}

/** Which queued rows of a batch setAsideRows moves: the flusher's own verdict on the batch as it read it. */
export interface BadRows {
  /** How many queued rows the batch held when read (only setAsideRows removes rows: its version). */
  count: number
  /** Positions (from 0, ascending) of the rows to set aside. */
  positions: number[]
  /** Recorded in `{prefix}:idx:bad` for the table's bad rows. */
  reason: string
}

/**
 * What setAsideRows did: `left` is the batch's entries after; `foreign` for a batch it cannot
 * rewrite unchanged, `changed` for one that no longer holds `count` rows (nothing written either way).
 */
export type RowsSetAside = {setAside: number; left: number} | {foreign: true} | {changed: true}

export interface ClaimRequest {
  batchId: string
  table: string
  createdAt: number
  counters: string[]
  updates: string[]
  maxInserts: number
  /**
   * Redis: the token of the flush lease the claim is made under. Nothing is claimed unless it still
   * holds, and a claim that takes a batch moves the flush fence counter past itself (its claim
   * mark) in the same step. The memory driver takes no mark and ignores it.
   */
  lease?: string
}

export type RequeueEntry = {kind: 'counter'; deltas: Array<[string, number]>} | {kind: 'update'; member: string; fields: Record<string, Json>} | {kind: 'insert'; row: Json}

export interface CounterReading {
  live: number
  /** The cached DB base (the DB value without in-flight deltas); null when not cached. */
  base: number | null
  /** In-flight deltas of this key, per batch id. */
  inflight: Record<string, number>
  /** Changes at every claim and ack of the table; guards base caching. */
  generation: string
}

export interface IncrementResult {
  live: number
  base: number | null
  inflight: number
  /** Present when base is null: the counter as readCounter reads it, right after this increment. */
  reading?: CounterReading
}

/**
 * The atomic steps of the write buffer. Each is one Lua script on redis (lua/{name}.lua) and one
 * request handled by the primary on memory (memory/, registered under the same name), so no crash
 * or concurrent writer can observe half of one.
 */
export interface BufferSteps {
  /**
   * INCRBYFLOAT + index; returns the live delta, the cached base and the in-flight sum, and when no
   * base is cached, the counter's reading as readCounter would give it right after (so a cold
   * total needs no readCounter call).
   */
  increment(prefix: string, member: string, delta: number): Promise<IncrementResult>
  update(prefix: string, member: string, fields: Record<string, Json>): Promise<void>
  /** Appends rows to a table's queue; returns the queue length. */
  insert(prefix: string, table: string, rows: Json[]): Promise<number>
  /**
   * Moves the given keys (and up to maxInserts queued rows) into a new in-flight batch; keys whose
   * content cannot be flushed move to `{prefix}:bad:*` instead (listed in `{prefix}:idx:bad`).
   * Queued rows are taken as they are (see setAsideRows).
   */
  claim(prefix: string, request: ClaimRequest): Promise<ClaimResult>
  /**
   * Moves the queued rows of an in-flight batch that the flusher found cannot be inserted (not a
   * JSON object, no columns, a name that is not a column name), named by position, to the end of
   * `{prefix}:bad:q:{table}`, noted in `{prefix}:idx:bad`; the batch keeps the rest. The claim
   * takes rows unchecked: the flusher checks them and calls this for a batch with a bad one. Null
   * when the batch is gone.
   */
  setAsideRows(prefix: string, batchId: string, table: string, rows: BadRows): Promise<RowsSetAside | null>
  /** Moves an index member that does not parse (and its key, if any) to `{prefix}:bad:*`. */
  quarantine(prefix: string, kind: BadKind, member: string, reason: string): Promise<void>
  /**
   * Forgets an applied batch and moves its counter deltas into the cached bases, except those of
   * `deadMembers` (dead-lettered: they never reached the database).
   */
  ack(prefix: string, batchId: string, deadMembers: string[]): Promise<boolean>
  /** Removes a dead letter and re-buffers it in one step; false when it was already gone. */
  requeue(prefix: string, table: string, id: string, entry: RequeueEntry): Promise<boolean>
  readCounter(prefix: string, member: string): Promise<CounterReading>
  /**
   * Removes the entries of a list chunk whose mask character is "0", if the chunk at `position` still
   * hashes to `sha` (SHA-1 of its JSON entries joined with "\n"); -1 when it changed.
   */
  compactChunk(key: string, position: number, sha: string, mask: string): Promise<number>
  /**
   * One in-flight batch by the id it is kept under, decoded and checked (CorruptValue for a batch
   * that cannot be applied: the flusher quarantines it); null when it is gone. `rows: false` leaves
   * its queued rows unchecked (a row JSON.parse refuses stays its text), for setAsideRows.
   */
  readBatch(prefix: string, batchId: string, check?: {rows: boolean}): Promise<StoredBatch | null>
  /**
   * After a flush drained a table: forget its pending-since time when nothing was written since
   * `flushStart`, else move it to `flushStart` (the oldest write left is younger than that).
   */
  settleAge(prefix: string, table: string, flushStart: number): Promise<void>
  /** Caches a base if the table's generation is unchanged; returns the live and in-flight sums then. */
  cacheBase(prefix: string, member: string, generation: string, base: number, ttlMs: number): Promise<{cached: boolean; live: number; inflight: number}>
}
