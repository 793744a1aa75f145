import type {BufferConfig} from '../config/schema.js'
import type {Ipc} from '../ipc/types.js'
import {takeLease} from '../locks/take-lease.js'
import type {Databases} from '../sql/databases.js'
import {forgetAllTableInfo} from '../sql/table-info.js'
import {DeadLetters} from './dead-letters.js'
import {BatchApplier} from './flush/apply-batch.js'
import {ClaimPipeline} from './flush/claim-pipeline.js'
import {countFlush, recordFlushEvent, recordTakeover} from './flush/events.js'
import {StoreCheck} from './flush/fence.js'
import {leftInFlight} from './flush/inflight.js'
import {RunLease} from './flush/lease.js'
import {LedgerPruning} from './flush/prune-ledgers.js'
import {FlushRun} from './flush/run.js'
import type {FlushFilter, FlushReport, FlusherOptions} from './flush/types.js'
import {abortReason, FlushInterrupted} from './interrupted.js'
import {KeySpace} from './keys.js'
import {flagRollback, readRollback, StoreRolledBack} from './rollback.js'

// The parts of a flush live in ./flush/ (lease, claim pipeline, batch applier, fence and epoch
// checks, ranges, events, ledger pruning); this is its public entry and the order of its steps.
export type {FlushFilter, FlushProgress, FlushReport, FlusherOptions, TableFlushReport} from './flush/types.js'
export {sleep} from './flush/sleep.js'

/**
 * The flush protocol: lease → finish batches left in flight → claim a bounded batch per table →
 * one transaction per batch (fence check, set-based statements, ledger row) → acknowledge.
 */
export class Flusher {
  private readonly keys: KeySpace
  private readonly deadLetters: DeadLetters
  private readonly pruning: LedgerPruning
  private running: Promise<unknown> = Promise.resolve()

  constructor(
    private readonly ipc: Ipc,
    prefix: string,
    private readonly dbs: Databases,
    private readonly buffer: BufferConfig,
    private readonly options: FlusherOptions,
  ) {
    this.keys = new KeySpace(prefix)
    this.deadLetters = new DeadLetters(ipc, prefix, buffer.primaryKey)
    this.pruning = new LedgerPruning(ipc, this.keys, dbs)
  }

  /** Flushes now; a flush this process already runs finishes first (never two at once). */
  flush(filter: FlushFilter = {}): Promise<FlushReport> {
    const next = this.running
      .then(() => this.run(filter))
      .then(async (report) => {
        await countFlush(this.ipc, this.keys, report)
        return report
      })
    this.running = next.catch(() => {})
    return next
  }

  private async run(filter: FlushFilter): Promise<FlushReport> {
    const startedAt = Date.now()
    // A store found behind the database stays refused until an operator decides.
    const flagged = await readRollback(this.ipc, this.keys.prefix)
    if (flagged) throw new StoreRolledBack(flagged)
    if (filter.signal?.aborted) throw new FlushInterrupted(abortReason(filter.signal), null, [])
    const requestedAt = performance.now()
    const taken = await takeLease(this.ipc, this.keys.flushLock, this.options.leaseTtlMs / 1000)
    if (!taken.lease) {
      return {status: 'skipped', reason: 'lease-held', holder: taken.holder, startedAt, durationMs: Date.now() - startedAt, fence: null, tables: [], quarantined: []}
    }
    if (taken.tookOverFrom) await recordTakeover(this.ipc, this.keys, this.options.eventsMaxCount, taken.tookOverFrom).catch(() => {})
    const {ipc, keys, dbs} = this
    // Column types, keys and collations are read again by each flush (once per table): a schema
    // migrated since the last flush must not be applied with what was true before.
    for (const db of dbs.openedList()) forgetAllTableInfo(db.knex)
    const lease = new RunLease(ipc, keys, taken.lease, this.options.leaseTtlMs, requestedAt)
    const run = new FlushRun(ipc, keys, filter, lease, this.options.onProgress)
    const store = new StoreCheck(ipc, keys, dbs, lease)
    const applier = new BatchApplier({ipc, keys, dbs, buffer: this.buffer, options: this.options, deadLetters: this.deadLetters, lease, store, run})
    const pipeline = new ClaimPipeline({
      ipc,
      keys,
      batchSize: this.options.batchSize,
      lease,
      run,
      process: (batch, recovered, mark, committed, prepared) => applier.process(batch, recovered, mark, committed, prepared),
      prepare: (batch) => applier.prepare(batch),
    })
    lease.startRenewing()
    try {
      // Read before anything is claimed: whether the store held pending state decides, for a
      // store without an epoch marker, between a new store and one restored from an old snapshot.
      if (this.ipc.driver === 'redis') {
        await store.storeAtStart()
        // Every database is compared before anything is claimed or re-buffered by a retry: a flush
        // with nothing to commit must not move the fence counter past a rollback unseen.
        await store.checkStores(filter)
      }
      await pipeline.recoverInflight()
      if (!filter.recoverOnly) {
        // Each kind is applied completely before the next is claimed (updates, counters, inserts).
        for (const kind of ['updates', 'counters'] as const) {
          await pipeline.claimKeyed(kind)
          await pipeline.applied()
        }
        await pipeline.claimQueues()
        await pipeline.applied()
        await run.settleAges(startedAt)
      }
    } finally {
      // A batch still being applied finishes under the lease, even when claiming failed.
      await pipeline.applied().catch(() => {})
      lease.stopRenewing()
      await this.ipc.unlock(this.keys.flushLock, lease.current.token).catch(() => {})
    }
    await run.clearBlocked()
    const report = run.report(startedAt)
    if (taken.tookOverFrom) report.tookOverFrom = taken.tookOverFrom
    await this.ipc.set(this.keys.lastFlush, {...report, tables: report.tables.length} as never).catch(() => {})
    await recordFlushEvent(this.ipc, this.keys, this.options.eventsMaxCount, report).catch(() => {})
    if (run.stopped && !store.rolledBack) throw new FlushInterrupted(abortReason(filter.signal!), report, await leftInFlight(this.ipc, this.keys))
    if (store.rolledBack) {
      await flagRollback(this.ipc, this.keys.prefix, store.rolledBack.record)
      throw store.rolledBack
    }
    await this.pruning.after(report)
    return report
  }
}
