import type {LeaseRecord} from '../../ipc/types.js'
import type {QuarantinedKey} from '../steps/index.js'
import type {TargetFilter} from '../target-filter.js'

// The flush's public shapes; `../flusher.ts` re-exports them, callers import them from there.

export interface FlushFilter extends TargetFilter {
  /** Only finish the batches left in flight; claim nothing new (`wbc recover`). */
  recoverOnly?: boolean
  /**
   * Stops the flush between its steps: a statement running when it fires is cancelled and its
   * transaction rolled back, nothing more is claimed or committed, the lease is released, and the
   * flush rejects with FlushInterrupted (batches already claimed stay in flight for the next
   * flush). The reason `'SIGTERM'` makes it exit 143 in the CLI, any other 130.
   */
  signal?: AbortSignal
}

export interface TableFlushReport {
  connection: string
  table: string
  /** Rows whose counters were incremented. */
  counters: number
  /** Rows whose columns were updated. */
  updates: number
  /** Rows inserted. */
  inserts: number
  deadLettered: number
  batches: number
  /** Of those, batches a crashed flusher had left in flight. */
  recovered: number
  error?: string
  /** The table's rows were held by another session past `buffer.statementTimeoutMs`: its batch stays in flight for the next flush. */
  blocked?: boolean
  /** Its connection could not be reached: what it had pending (or in flight) waits for the next flush. */
  unreachable?: boolean
}

export interface FlushReport {
  /** ok: everything claimed was applied; partial: errors left batches in flight or entries were dead-lettered; skipped: another holder has the lease. */
  status: 'ok' | 'partial' | 'skipped'
  reason?: 'lease-held' | 'lease-lost' | 'interrupted'
  holder?: LeaseRecord | null
  /** The lease was held by a process of this host that no longer ran: this flush took it over at once. */
  tookOverFrom?: LeaseRecord
  startedAt: number
  durationMs: number
  fence: number | null
  tables: TableFlushReport[]
  /** Keys this flush moved to `{prefix}:bad:*` because their content cannot be flushed (makes the status partial). */
  quarantined: QuarantinedKey[]
  /** Connections that had work but could not be reached, with the error (present only when some could not). */
  unreachable?: Array<{connection: string; error: string}>
}

/** Progress of a flush, for people watching a terminal: each long step as it starts, each commit. */
export interface FlushProgress {
  /**
   * recover: a batch left in flight is being finished; claim: rows of a table are being claimed;
   * apply: a transaction starts (it may wait for the database); applied: it committed;
   * retry: a transient error, retried after a pause.
   */
  step: 'recover' | 'claim' | 'apply' | 'applied' | 'retry'
  connection: string
  table: string
  /** Batches of this table this flush has taken up so far. */
  batches: number
  /** Rows of this table committed so far. */
  rows: number
  /** recover: which of the batches left in flight (1-based) and how many there are. */
  of?: {index: number; total: number}
  /** retry: the attempt that failed (1-based), how many are allowed and why. */
  retry?: {attempt: number; attempts: number; error: string}
}

export interface FlusherOptions {
  leaseTtlMs: number
  /** Attempts per batch on transient database errors before it is left in flight. */
  retries: number
  retryBaseMs: number
  /** Rows moved into one in-flight batch. */
  batchSize: number
  onProgress?: (progress: FlushProgress) => void
  /** Entries kept in the event stream (`{prefix}:events`). */
  eventsMaxCount: number
}
