import type {Ipc} from '../../ipc/types.js'
import type {KeySpace} from '../keys.js'
import {stepsFor, type QuarantinedKey} from '../steps/index.js'
import {targetMatcher} from '../target-filter.js'
import type {RunLease} from './lease.js'
import type {FlushFilter, FlushProgress, FlushReport, TableFlushReport} from './types.js'

/**
 * What one flush did and what it must leave alone: the report per table, the keys it quarantined,
 * the tables and connections it gave up on for the rest of the run, and the caller's filter and
 * signal. The claim pipeline and the batch applier both read and write it.
 */
export class FlushRun {
  readonly quarantined: QuarantinedKey[] = []
  private readonly tables = new Map<string, TableFlushReport>()
  /** Tables whose rows another session held past the time limit: nothing more is claimed for them in this flush. */
  readonly blockedTables = new Set<string>()
  /** Connections that failed transiently: nothing more is claimed for them in this flush. */
  readonly failing = new Set<string>()
  /** Of those, the ones that could not be reached at all, with the error. */
  readonly unreachable = new Map<string, string>()
  private readonly matcher: (connection: string, table: string) => boolean

  constructor(
    private readonly ipc: Ipc,
    private readonly keys: KeySpace,
    readonly filter: FlushFilter,
    private readonly lease: RunLease,
    private readonly onProgress?: (progress: FlushProgress) => void,
  ) {
    this.matcher = targetMatcher(filter)
  }

  /** The caller's signal fired: nothing more is claimed or committed. */
  get stopped(): boolean {
    return this.filter.signal?.aborted === true
  }

  progress(step: FlushProgress['step'], connection: string, table: string, extra: Pick<FlushProgress, 'of' | 'retry'> = {}): void {
    const report = this.tables.get(`${connection}:${table}`)
    const rows = report ? report.updates + report.counters + report.inserts : 0
    try {
      this.onProgress?.({step, connection, table, batches: report?.batches ?? 0, rows, ...extra})
    } catch {
      // A display that fails must not fail the flush.
    }
  }

  report(startedAt: number): FlushReport {
    const lost = this.lease.lost
    const tables = [...this.tables.values()].sort((a, b) => `${a.connection}:${a.table}`.localeCompare(`${b.connection}:${b.table}`))
    const partial = lost || this.stopped || this.quarantined.length > 0 || tables.some((t) => t.error || t.deadLettered > 0)
    return {
      status: partial ? 'partial' : 'ok',
      ...(lost ? {reason: 'lease-lost' as const} : this.stopped ? {reason: 'interrupted' as const} : {}),
      startedAt,
      durationMs: Date.now() - startedAt,
      fence: this.lease.current.fence,
      tables,
      quarantined: this.quarantined,
      ...(this.unreachable.size > 0 ? {unreachable: [...this.unreachable].map(([connection, error]) => ({connection, error}))} : {}),
    }
  }

  matches(connection: string, table: string): boolean {
    return this.matcher(connection, table)
  }

  tableReport(connection: string, table: string): TableFlushReport {
    const key = `${connection}:${table}`
    let report = this.tables.get(key)
    if (!report) {
      report = {connection, table, counters: 0, updates: 0, inserts: 0, deadLettered: 0, batches: 0, recovered: 0}
      this.tables.set(key, report)
    }
    return report
  }

  /**
   * A table whose connection failed earlier in this flush: nothing of it is attempted, and the
   * report says so, so every table left pending is listed with the reason.
   */
  leftPending(connection: string, table: string, inFlight = false): void {
    const report = this.tableReport(connection, table)
    const down = this.unreachable.has(connection)
    report.error ??= `not attempted: connection ${connection} ${down ? 'unreachable' : 'failed earlier in this flush'}${inFlight ? ' (batch left in flight)' : ''}`
    if (down) report.unreachable = true
  }

  /** Tables this flush drained without error: their pending-since times move on. */
  async settleAges(flushStart: number): Promise<void> {
    if (this.lease.lost || this.stopped) return
    for (const report of this.tables.values()) {
      if (report.error) continue
      await stepsFor(this.ipc)
        .settleAge(this.keys.prefix, `${report.connection}:${report.table}`, flushStart)
        .catch(() => {})
    }
  }

  /** Tables this flush applied without error are no longer blocked. */
  async clearBlocked(): Promise<void> {
    const blocked = await this.ipc.hgetall(this.keys.blocked).catch(() => null)
    if (!blocked) return
    const cleared = [...this.tables.values()].filter((t) => !t.error && `${t.connection}:${t.table}` in blocked).map((t) => `${t.connection}:${t.table}`)
    if (cleared.length > 0) await this.ipc.hdel(this.keys.blocked, ...cleared).catch(() => {})
  }
}
