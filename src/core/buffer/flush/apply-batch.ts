import type {BufferConfig} from '../../config/schema.js'
import {ConfigError} from '../../errors.js'
import {failpoint} from '../../failpoints.js'
import type {Ipc} from '../../ipc/types.js'
import {abortableTransaction} from '../../sql/abortable.js'
import {applyEntries, planAhead, RowsNotFound, type EntriesPlan} from '../../sql/apply.js'
import type {Database, Databases} from '../../sql/databases.js'
import {errorText, isBlocked, isTransient, isUnreachable} from '../../sql/errors.js'
import {checkFence, ensureLedger, FencedOut, ledgerRanges, recordRange} from '../../sql/ledger.js'
import {withTransactionLimits} from '../../sql/limits.js'
import type {DeadLetters} from '../dead-letters.js'
import {entriesOf, type Entry} from '../entries.js'
import {parseTableMember, type KeySpace} from '../keys.js'
import {StoreRolledBack} from '../rollback.js'
import {stepsFor, type StoredBatch} from '../steps/index.js'
import type {StoreCheck} from './fence.js'
import type {RunLease} from './lease.js'
import {deadMembers, overlaps, pendingRanges, refusalOf, split} from './ranges.js'
import type {FlushRun} from './run.js'
import {sleep} from './sleep.js'
import type {FlusherOptions, TableFlushReport} from './types.js'

class AlreadyApplied extends Error {}
/** The caller's signal fired between two steps (or cancelled one): the batch stays in flight. */
class Stopped extends Error {}

/**
 * The work on a batch that can be done before its turn to be applied (while the batch before it is
 * in its transaction): its entries and, with the table's info cached, its statements.
 */
export interface PreparedBatch {
  entries?: Entry[]
  plan?: Promise<EntriesPlan | undefined>
}

/** What applying a batch works with. */
export interface BatchApplierParts {
  ipc: Ipc
  keys: KeySpace
  dbs: Databases
  buffer: Pick<BufferConfig, 'primaryKey' | 'statementTimeoutMs' | 'insertBatchSize'>
  options: Pick<FlusherOptions, 'retries' | 'retryBaseMs'>
  deadLetters: DeadLetters
  lease: RunLease
  store: StoreCheck
  run: FlushRun
}

/**
 * Applies one batch to its database and acknowledges it: the ranges the ledger does not hold yet,
 * each in one fenced transaction, transient errors retried, refused ranges split down to single
 * entries that become dead letters. What goes wrong is written to the run's report, not thrown.
 */
export class BatchApplier {
  private readonly ipc: Ipc
  private readonly keys: KeySpace
  private readonly dbs: Databases
  private readonly buffer: BatchApplierParts['buffer']
  private readonly options: BatchApplierParts['options']
  private readonly deadLetters: DeadLetters
  private readonly lease: RunLease
  private readonly store: StoreCheck
  private readonly run: FlushRun

  constructor(parts: BatchApplierParts) {
    this.ipc = parts.ipc
    this.keys = parts.keys
    this.dbs = parts.dbs
    this.buffer = parts.buffer
    this.options = parts.options
    this.deadLetters = parts.deadLetters
    this.lease = parts.lease
    this.store = parts.store
    this.run = parts.run
  }

  /**
   * Prepares a claimed batch ahead of its turn (see PreparedBatch). Never throws: what cannot be
   * prepared is done again, and reported, when the batch is processed.
   */
  prepare(batch: StoredBatch): PreparedBatch {
    const parsed = parseTableMember(batch.table)
    if (!parsed) return {}
    let entries: Entry[]
    let db: Database
    try {
      entries = entriesOf(batch, this.buffer.primaryKey)
      db = this.dbs.get(parsed.connection)
    } catch {
      return {}
    }
    const plan = planAhead(db.knex, db.dialect, parsed.table, entries, this.buffer.insertBatchSize).catch(() => undefined)
    return {entries, plan}
  }

  /**
   * Applies one batch (retrying transient errors) and acknowledges it; errors stay in the report.
   * `committed` is called once a batch applied cleanly is committed, before its ack.
   */
  async process(batch: StoredBatch, recovered: boolean, mark = 0, committed?: () => void, prepared: PreparedBatch = {}): Promise<void> {
    const parsed = parseTableMember(batch.table)
    if (!parsed) return
    const report = this.run.tableReport(parsed.connection, parsed.table)
    report.batches++
    if (recovered) report.recovered++
    if (this.run.failing.has(parsed.connection)) {
      // Its connection failed earlier in this flush (a batch claimed meanwhile, or one left by an
      // earlier flush): it stays in flight for the next flush instead of failing again.
      this.run.leftPending(parsed.connection, parsed.table, true)
      return
    }
    if (this.run.blockedTables.has(batch.table) && !recovered) {
      // Claimed while an earlier batch was blocked: it stays in flight for the next flush.
      report.error ??= 'not applied: the table was blocked earlier in this flush (left in flight)'
      return
    }
    let db: Database
    try {
      db = this.dbs.get(parsed.connection)
    } catch (error) {
      report.error = error instanceof ConfigError ? error.message : errorText(error)
      this.run.failing.add(parsed.connection)
      return
    }
    try {
      await ensureLedger(db.knex, this.keys.prefix)
      await this.store.checkStore(db)
      const entries = prepared.entries ?? entriesOf(batch, this.buffer.primaryKey)
      let clean = false
      for (let attempt = 0; ; attempt++) {
        try {
          // A batch claimed in this run, on its first attempt, cannot be in the ledger yet.
          const plan = prepared.entries && attempt === 0 ? await prepared.plan : undefined
          clean = await this.apply(db, parsed.table, batch.id, entries, report, !recovered && attempt === 0, mark, plan)
          break
        } catch (error) {
          // Fenced out while the lease is still ours: the counter catches up once (memory driver).
          if (error instanceof FencedOut && attempt === 0 && (await this.store.afterFencedOut(db, error))) continue
          // A lock another session holds is not retried at once: the batch waits for the next flush.
          if (!isTransient(error) || isBlocked(error) || attempt + 1 >= this.options.retries || this.lease.lost || this.run.stopped) throw error
          this.run.progress('retry', parsed.connection, parsed.table, {retry: {attempt: attempt + 1, attempts: this.options.retries, error: errorText(error)}})
          const backoff = Math.min(5000, this.options.retryBaseMs * 2 ** attempt)
          await sleep(backoff / 2 + Math.random() * (backoff / 2), this.run.filter.signal)
        }
      }
      failpoint('after-commit')
      if (!clean) {
        const ranges = await ledgerRanges(db.knex, batch.id)
        // A flusher that stopped between recording `dead` and writing the dead letter left it
        // unwritten: the batch is still in flight, so it is written now, before the ack.
        report.deadLettered += await this.deadLetters.restore(parsed.connection, parsed.table, batch.id, entries, ranges)
        await stepsFor(this.ipc).ack(this.keys.prefix, batch.id, deadMembers(entries, ranges))
      } else {
        committed?.()
        await stepsFor(this.ipc).ack(this.keys.prefix, batch.id, [])
      }
    } catch (error) {
      if (error instanceof StoreRolledBack) this.store.refused(error)
      // Stopped by the caller: the batch stays in flight, the error is the cancellation's, not the table's.
      if (this.run.stopped && !this.store.rolledBack) return
      if (error instanceof FencedOut) this.lease.lost = true
      report.error = errorText(error)
      if (isBlocked(error)) {
        // Rows held by another session: this table waits for the next flush, the others go on.
        report.blocked = true
        this.run.blockedTables.add(batch.table)
        await this.ipc.hset(this.keys.blocked, {[batch.table]: {reason: report.error, at: Date.now()}}).catch(() => {})
      } else if (isTransient(error)) {
        this.run.failing.add(parsed.connection)
        if (isUnreachable(error)) {
          this.run.unreachable.set(parsed.connection, report.error)
          report.unreachable = true
        }
      }
    }
  }

  /**
   * Applies the ranges of a batch that the ledger does not hold yet, isolating bad entries.
   * `fresh`: the batch cannot be in the ledger yet (saves a read). Returns true when the whole
   * batch went in at once, with no dead letters and nothing found applied already.
   */
  private async apply(db: Database, table: string, batchId: string, entries: Entry[], report: TableFlushReport, fresh: boolean, mark: number, plan?: EntriesPlan): Promise<boolean> {
    const connection = db.name
    const signal = this.run.filter.signal
    let clean = fresh
    // `tried`: transactions that already held the range's entries (a dead letter records it).
    let queue: Array<{lo: number; hi: number; tried?: number}> = fresh ? (entries.length > 0 ? [{lo: 0, hi: entries.length}] : []) : pendingRanges(entries.length, await ledgerRanges(db.knex, batchId))
    while (queue.length > 0) {
      if (this.run.stopped) throw new Stopped()
      // Every commit is fenced in the database too; this catches a stalled holder before it works.
      if (!(await this.lease.held())) throw new FencedOut(this.lease.current.fence, -1)
      const {tried = 0, ...range} = queue.shift()!
      this.run.progress('apply', connection, table)
      try {
        const counts = await abortableTransaction(db.knex, signal, (trx) =>
          // Time limits first: a row another session keeps locked (the fence row included) fails
          // this transaction as transient instead of stalling every flush.
          withTransactionLimits(trx, db.dialect, this.buffer.statementTimeoutMs, db.knex, async () => {
            await checkFence(trx, this.keys.prefix, this.store.committer(mark))
            // Another run (or an earlier attempt) may have committed this range since it was chosen.
            if (overlaps(range, await ledgerRanges(trx, batchId))) throw new AlreadyApplied()
            failpoint('mid-transaction')
            // statementTimeoutMs 0: the limits are set for this transaction already.
            // The whole batch is the very list it was planned for (a part is planned here).
            const whole = range.lo === 0 && range.hi === entries.length
            const applied = await applyEntries(trx, db.dialect, table, whole ? entries : entries.slice(range.lo, range.hi), this.buffer.insertBatchSize, db.knex, {statementTimeoutMs: 0, plan})
            await recordRange(trx, batchId, {...range, outcome: 'applied'}, this.keys.prefix)
            return applied
          }),
        )
        report.updates += counts.updates
        report.counters += counts.counters
        report.inserts += counts.inserts
        this.run.progress('applied', connection, table)
      } catch (error) {
        clean = false
        if (this.run.stopped) throw new Stopped()
        if (error instanceof AlreadyApplied) {
          queue = pendingRanges(entries.length, await ledgerRanges(db.knex, batchId))
          continue
        }
        if (error instanceof FencedOut || isTransient(error)) throw error
        if (range.hi - range.lo === 1) {
          // The ledger says `dead` first, the dead letter follows: a crash in between leaves a
          // `dead` range without its dead letter, which the batch's recovery writes (never an
          // entry both dead-lettered and applied by a recovery that found no ledger row).
          const recorded = await abortableTransaction(db.knex, signal, (trx) =>
            withTransactionLimits(trx, db.dialect, this.buffer.statementTimeoutMs, db.knex, async () => {
              await checkFence(trx, this.keys.prefix, this.store.committer(mark))
              if (overlaps(range, await ledgerRanges(trx, batchId))) return false
              await recordRange(trx, batchId, {...range, outcome: 'dead'}, this.keys.prefix)
              return true
            }),
          )
          failpoint('after-dead-ledger')
          if (recorded) {
            await this.deadLetters.add(connection, table, `${batchId}:${range.lo}`, entries[range.lo], {...refusalOf(error, db.dialect), attempts: tried + 1})
            report.deadLettered++
          }
          continue
        }
        // A data error: split the range (around the rows found missing, else in halves) and try
        // the parts first, until single entries fail on their own.
        queue = [...split(range, error instanceof RowsNotFound ? error.indexes.map((i) => range.lo + i) : null).map((r) => ({...r, tried: tried + 1})), ...queue]
      }
    }
    return clean
  }
}
