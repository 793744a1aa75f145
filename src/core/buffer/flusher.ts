import {randomBytes} from 'node:crypto'

import type {BufferConfig} from '../config/schema.js'
import {ConfigError, WbcError} from '../errors.js'
import {failpoint} from '../failpoints.js'
import type {Ipc, Lease, LeaseRecord} from '../ipc/types.js'
import {takeLease} from '../locks/take-lease.js'
import {abortableTransaction} from '../sql/abortable.js'
import {applyEntries, RowsNotFound} from '../sql/apply.js'
import {withTransactionLimits} from '../sql/limits.js'
import type {Database, Databases} from '../sql/databases.js'
import {errorText, isBlocked, isTransient, isUnreachable} from '../sql/errors.js'
import {describeRefusal, type Refusal} from '../sql/refusal.js'
import type {Dialect} from '../config/connections.js'
import {checkFence, ensureLedger, FencedOut, fenceRow, highestFence, ledgerRanges, pruneLedger, recordRange, storedFence, type FenceRow, type LedgerRange} from '../sql/ledger.js'
import {DeadLetters} from './dead-letters.js'
import {epochKey, flagRollback, holdsPendingState, newEpoch, readEpoch, readRollback, StoreRolledBack} from './rollback.js'
import {entriesOf, type Entry} from './entries.js'
import {KeySpace, parseMember, parseTableMember} from './keys.js'
import {stepsFor, type BadKind, type QuarantinedKey, type StoredBatch} from './steps/index.js'
import {filterConnections, targetMatcher, type TargetFilter} from './target-filter.js'
import {abortReason, FlushInterrupted, type LeftInFlight} from './interrupted.js'

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

const SCAN_COUNT = 1000
/** Waits, or less when the signal fires. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve()
    const done = () => {
      clearTimeout(timer)
      signal?.removeEventListener('abort', done)
      resolve()
    }
    const timer = setTimeout(done, ms)
    signal?.addEventListener('abort', done, {once: true})
  })
}
const newBatchId = () => `${Date.now().toString(36).padStart(9, '0')}-${randomBytes(5).toString('hex')}`

class AlreadyApplied extends Error {}
/** The caller's signal fired between two steps (or cancelled one): the batch stays in flight. */
class Stopped extends Error {}

/**
 * The flush protocol: lease → finish batches left in flight → claim a bounded batch per table →
 * one transaction per batch (fence check, set-based statements, ledger row) → acknowledge.
 */
export class Flusher {
  private readonly keys: KeySpace
  private readonly deadLetters: DeadLetters
  private running: Promise<unknown> = Promise.resolve()
  private prunedAt = new Map<string, number>()

  constructor(
    private readonly ipc: Ipc,
    prefix: string,
    private readonly dbs: Databases,
    private readonly buffer: BufferConfig,
    private readonly options: FlusherOptions,
  ) {
    this.keys = new KeySpace(prefix)
    this.deadLetters = new DeadLetters(ipc, prefix, buffer.primaryKey)
  }

  /** Flushes now; a flush this process already runs finishes first (never two at once). */
  flush(filter: FlushFilter = {}): Promise<FlushReport> {
    const next = this.running.then(() => this.run(filter)).then(async (report) => {
      // Running totals for `wbc metrics` (the event stream is trimmed): flushes per status, and the
      // rows each table's transactions changed. Counted after the commit: a crash in between undercounts.
      await this.ipc.incrBy(this.keys.flushesTotal(report.status), 1).catch(() => {})
      for (const t of report.tables) {
        const rows = t.counters + t.updates + t.inserts
        if (rows > 0) await this.ipc.incrBy(this.keys.rowsFlushedTotal(`${t.connection}:${t.table}`), rows).catch(() => {})
      }
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
    if (taken.tookOverFrom) await this.recordTakeover(taken.tookOverFrom).catch(() => {})
    const run = new FlushRun(this, taken.lease, filter, requestedAt)
    const renewal = setInterval(() => void run.renew(), Math.max(100, this.options.leaseTtlMs / 3))
    renewal.unref()
    try {
      // Read before anything is claimed: whether the store held pending state decides, for a
      // store without an epoch marker, between a new store and one restored from an old snapshot.
      if (this.ipc.driver === 'redis') {
        await run.storeAtStart()
        // Every database is compared before anything is claimed or re-buffered by a retry: a flush
        // with nothing to commit must not move the fence counter past a rollback unseen.
        await run.checkStores()
      }
      await run.recoverInflight()
      if (!filter.recoverOnly) {
        // Each kind is applied completely before the next is claimed (updates, counters, inserts).
        for (const kind of ['updates', 'counters'] as const) {
          await run.claimKeyed(kind)
          await run.applied()
        }
        await run.claimQueues()
        await run.applied()
        await run.settleAges(startedAt)
      }
    } finally {
      // A batch still being applied finishes under the lease, even when claiming failed.
      await run.applied().catch(() => {})
      clearInterval(renewal)
      await this.ipc.unlock(this.keys.flushLock, run.lease.token).catch(() => {})
    }
    await run.clearBlocked()
    const report = run.report(startedAt)
    if (taken.tookOverFrom) report.tookOverFrom = taken.tookOverFrom
    await this.ipc.set(this.keys.lastFlush, {...report, tables: report.tables.length} as never).catch(() => {})
    await this.recordEvent(report).catch(() => {})
    if (run.stopped && !run.rolledBack) throw new FlushInterrupted(abortReason(filter.signal!), report, await this.leftInFlight())
    if (run.rolledBack) {
      await flagRollback(this.ipc, this.keys.prefix, run.rolledBack.record)
      throw run.rolledBack
    }
    await this.pruneLedgers(report)
    return report
  }

  /** A takeover belongs to the history operators read, like a release (`wbc locks release`). */
  private async recordTakeover(dead: LeaseRecord): Promise<void> {
    const event = {at: Date.now(), type: 'lease-released', key: dead.key, forced: false, holderDead: true, holder: `${dead.host ?? '?'}:${dead.pid ?? '?'}`, fence: dead.fence}
    await this.ipc.rpush(this.keys.events, event as never)
    await this.ipc.ltrim(this.keys.events, -this.options.eventsMaxCount, -1)
  }

  /** The batches in flight now, per table (after an interrupted flush: what the next one finishes). */
  private async leftInFlight(): Promise<LeftInFlight[]> {
    const tables = new Map<string, LeftInFlight>()
    for (const id of await this.inflightIds().catch(() => [])) {
      const raw = await this.ipc.get(this.keys.batch(id)).catch(() => null)
      const table = raw && typeof raw === 'object' && !Array.isArray(raw) && typeof raw.table === 'string' ? raw.table : null
      const parsed = table ? parseTableMember(table) : null
      const key = parsed ? `${parsed.connection}:${parsed.table}` : '?:?'
      const entry = tables.get(key) ?? {connection: parsed?.connection ?? '?', table: parsed?.table ?? '?', batches: 0}
      entry.batches++
      tables.set(key, entry)
    }
    return [...tables.values()].sort((a, b) => `${a.connection}:${a.table}`.localeCompare(`${b.connection}:${b.table}`))
  }

  /**
   * Flushes that did something (or failed) go to the event stream, which is trimmed to its bound
   * at once: it can never grow past it, whatever the traffic.
   */
  private async recordEvent(report: FlushReport): Promise<void> {
    if (report.tables.length === 0 && report.status === 'ok') return
    const sum = (pick: (t: TableFlushReport) => number) => report.tables.reduce((n, t) => n + pick(t), 0)
    const event = {
      at: report.startedAt,
      type: 'flush',
      status: report.status,
      ...(report.reason ? {reason: report.reason} : {}),
      durationMs: report.durationMs,
      fence: report.fence,
      tables: report.tables.length,
      rows: sum((t) => t.counters + t.updates + t.inserts),
      deadLettered: sum((t) => t.deadLettered),
      recovered: sum((t) => t.recovered),
      errors: report.tables.filter((t) => t.error).map((t) => `${t.connection}:${t.table}: ${t.error}`),
    }
    await this.ipc.rpush(this.keys.events, event as never)
    await this.ipc.ltrim(this.keys.events, -this.options.eventsMaxCount, -1)
  }

  /**
   * Old ledger rows of this state go, at most hourly per connection: they only matter while their
   * batch is in flight, so the rows of batches still in flight stay whatever their age.
   */
  private async pruneLedgers(report: FlushReport): Promise<void> {
    for (const connection of new Set(report.tables.filter((t) => !t.error).map((t) => t.connection))) {
      if (Date.now() - (this.prunedAt.get(connection) ?? 0) < 3_600_000) continue
      this.prunedAt.set(connection, Date.now())
      try {
        await pruneLedger(this.dbs.get(connection).knex, this.keys.prefix, await this.inflightIds())
      } catch {
        // Pruning is housekeeping: the next hour tries again.
      }
    }
  }

  /** @internal Every batch id in flight under this prefix. */
  async inflightIds(): Promise<string[]> {
    const ids = new Set<string>()
    let cursor = '0'
    do {
      const page = await this.ipc.sscan(this.keys.inflightIndex, cursor, SCAN_COUNT)
      page.items.forEach((id) => ids.add(id))
      cursor = page.cursor
    } while (cursor !== '0')
    return [...ids]
  }

  /** @internal What a run works with; built once per run, not on every access. */
  parts(): FlushParts {
    return {ipc: this.ipc, keys: this.keys, dbs: this.dbs, buffer: this.buffer, options: this.options, deadLetters: this.deadLetters}
  }
}

interface FlushParts {
  ipc: Ipc
  keys: KeySpace
  dbs: Databases
  buffer: BufferConfig
  options: FlusherOptions
  deadLetters: DeadLetters
}

/** The state of one flush: its lease, its filter and what it did per table. */
class FlushRun {
  lost = false
  /** Set when the store was found behind the database: the flush stops and the error is thrown. */
  rolledBack: StoreRolledBack | null = null
  /** performance.now() until which the lease is certainly held (its last renewal's request time + TTL). */
  private validUntil: number
  /** The store's epoch marker (redis driver), read and checked against each database once per run. */
  private epoch: string | null = null
  private readonly storeChecked = new Map<string, Promise<void>>()
  private startState?: Promise<{epoch: string | null; pending: boolean}>
  private applying: Promise<void> = Promise.resolve()
  readonly quarantined: QuarantinedKey[] = []
  private readonly tables = new Map<string, TableFlushReport>()
  /** Tables whose rows another session held past the time limit: nothing more is claimed for them in this flush. */
  private readonly blockedTables = new Set<string>()
  /** Connections that failed transiently: nothing more is claimed for them in this flush. */
  private readonly failing = new Set<string>()
  /** Of those, the ones that could not be reached at all, with the error. */
  private readonly unreachable = new Map<string, string>()

  private readonly p: FlushParts

  constructor(
    flusher: Flusher,
    public lease: Lease,
    private readonly filter: FlushFilter,
    requestedAt: number,
  ) {
    this.p = flusher.parts()
    this.matcher = targetMatcher(filter)
    this.validUntil = requestedAt + this.p.options.leaseTtlMs
  }

  /** The caller's signal fired: nothing more is claimed or committed. */
  get stopped(): boolean {
    return this.filter.signal?.aborted === true
  }

  private progress(step: FlushProgress['step'], connection: string, table: string, extra: Pick<FlushProgress, 'of' | 'retry'> = {}): void {
    const report = this.tables.get(`${connection}:${table}`)
    const rows = report ? report.updates + report.counters + report.inserts : 0
    try {
      this.p.options.onProgress?.({step, connection, table, batches: report?.batches ?? 0, rows, ...extra})
    } catch {
      // A display that fails must not fail the flush.
    }
  }

  /**
   * Extends the lease. A renewal that fails — refused, or an error (the store may have expired
   * it meanwhile) — counts as lost: nothing more is claimed or committed under it.
   */
  async renew(): Promise<boolean> {
    if (this.lost) return false
    const sentAt = performance.now()
    try {
      if (await this.p.ipc.renew(this.lease, this.p.options.leaseTtlMs / 1000)) {
        this.validUntil = Math.max(this.validUntil, sentAt + this.p.options.leaseTtlMs)
        return true
      }
    } catch {
      // Unknown whether it was extended: treat the lease as lost.
    }
    this.lost = true
    return false
  }

  /**
   * Right before a claim or a commit: the lease must still be ours. A process that stalled (GC
   * pause, frozen VM) past its lease notices here, before touching anything; one whose periodic
   * renewal is overdue renews now.
   */
  async leaseHeld(): Promise<boolean> {
    if (this.lost) return false
    const now = performance.now()
    if (now >= this.validUntil) {
      this.lost = true
      return false
    }
    if (this.validUntil - now < (this.p.options.leaseTtlMs * 2) / 3) return this.renew()
    return true
  }

  report(startedAt: number): FlushReport {
    const tables = [...this.tables.values()].sort((a, b) => `${a.connection}:${a.table}`.localeCompare(`${b.connection}:${b.table}`))
    const partial = this.lost || this.stopped || this.quarantined.length > 0 || tables.some((t) => t.error || t.deadLettered > 0)
    return {
      status: partial ? 'partial' : 'ok',
      ...(this.lost ? {reason: 'lease-lost' as const} : this.stopped ? {reason: 'interrupted' as const} : {}),
      startedAt,
      durationMs: Date.now() - startedAt,
      fence: this.lease.fence,
      tables,
      quarantined: this.quarantined,
      ...(this.unreachable.size > 0 ? {unreachable: [...this.unreachable].map(([connection, error]) => ({connection, error}))} : {}),
    }
  }

  /** What a flush transaction commits under: this lease, the store's epoch (redis driver) and the batch's claim mark. */
  private committer(mark: number): {fence: number; token: string; epoch: string | null; mark: number} {
    return {fence: this.lease.fence, token: this.lease.token, epoch: this.epoch, mark}
  }

  private readonly matcher: (connection: string, table: string) => boolean

  private matches(connection: string, table: string): boolean {
    return this.matcher(connection, table)
  }

  private tableReport(connection: string, table: string): TableFlushReport {
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
  private leftPending(connection: string, table: string, inFlight = false): void {
    const report = this.tableReport(connection, table)
    const down = this.unreachable.has(connection)
    report.error ??= `not attempted: connection ${connection} ${down ? 'unreachable' : 'failed earlier in this flush'}${inFlight ? ' (batch left in flight)' : ''}`
    if (down) report.unreachable = true
  }

  /** Tables this flush drained without error: their pending-since times move on. */
  async settleAges(flushStart: number): Promise<void> {
    if (this.lost || this.stopped) return
    for (const report of this.tables.values()) {
      if (report.error) continue
      await stepsFor(this.p.ipc).settleAge(this.p.keys.prefix, `${report.connection}:${report.table}`, flushStart).catch(() => {})
    }
  }

  /** Batches a crashed (or fenced-out) flusher left, oldest first. */
  async recoverInflight(): Promise<void> {
    const ids: string[] = []
    let cursor = '0'
    do {
      const page = await this.p.ipc.sscan(this.p.keys.inflightIndex, cursor, SCAN_COUNT)
      ids.push(...page.items)
      cursor = page.cursor
    } while (cursor !== '0')
    const sorted = [...new Set(ids)].sort()
    for (const [index, id] of sorted.entries()) {
      if (this.lost || this.stopped) return
      let batch: StoredBatch
      try {
        const read = await stepsFor(this.p.ipc).readBatch(this.p.keys.prefix, id)
        if (read === null) {
          await this.p.ipc.srem(this.p.keys.inflightIndex, id)
          continue
        }
        batch = read
      } catch (error) {
        // Not a batch wbc wrote (or damaged): set aside with the reason, the rest goes on.
        if (!(error instanceof WbcError) || error.code === 'SERVICE_UNAVAILABLE' || error.code === 'REQUEST_TIMEOUT') throw error
        await this.quarantine('if', id, `the batch cannot be read: ${error.message}`)
        await this.p.ipc.del(this.p.keys.inflightDeltas(id))
        continue
      }
      const parsed = parseTableMember(batch.table)
      if (parsed) this.progress('recover', parsed.connection, parsed.table, {of: {index: index + 1, total: sorted.length}})
      await this.process(batch, true)
    }
  }

  /** Scans an index a page at a time and claims per table once enough keys are gathered. */
  async claimKeyed(kind: 'updates' | 'counters'): Promise<void> {
    const index = kind === 'counters' ? this.p.keys.countersIndex : this.p.keys.updatesIndex
    const groups = new Map<string, string[]>()
    let cursor = '0'
    do {
      if (this.lost || this.stopped) return
      const page = await this.p.ipc.sscan(index, cursor, SCAN_COUNT)
      cursor = page.cursor
      for (const member of page.items) {
        const parsed = parseMember(member, kind === 'counters')
        if (!parsed) {
          if (!this.filter.table && !this.filter.connection) await this.quarantine(kind === 'counters' ? 'c' : 'u', member)
          continue
        }
        if (!this.matches(parsed.connection, parsed.table)) continue
        if (this.failing.has(parsed.connection)) {
          this.leftPending(parsed.connection, parsed.table)
          continue
        }
        if (this.blockedTables.has(`${parsed.connection}:${parsed.table}`)) continue
        const table = `${parsed.connection}:${parsed.table}`
        const group = groups.get(table) ?? []
        group.push(member)
        groups.set(table, group)
        if (group.length >= this.p.options.batchSize) {
          groups.delete(table)
          await this.claimAndProcess(table, kind === 'counters' ? group : [], kind === 'updates' ? group : [], 0)
        }
      }
    } while (cursor !== '0')
    for (const [table, group] of groups) {
      if (this.lost || this.stopped) return
      const parsed = parseTableMember(table)!
      if (this.failing.has(parsed.connection)) {
        this.leftPending(parsed.connection, parsed.table)
        continue
      }
      await this.claimAndProcess(table, kind === 'counters' ? group : [], kind === 'updates' ? group : [], 0)
    }
  }

  async claimQueues(): Promise<void> {
    const tables = new Set<string>()
    let cursor = '0'
    do {
      const page = await this.p.ipc.sscan(this.p.keys.queuesIndex, cursor, SCAN_COUNT)
      page.items.forEach((member) => tables.add(member))
      cursor = page.cursor
    } while (cursor !== '0')
    for (const table of [...tables].sort()) {
      const parsed = parseTableMember(table)
      if (!parsed) {
        if (!this.filter.table && !this.filter.connection) await this.quarantine('q', table)
        continue
      }
      if (!this.matches(parsed.connection, parsed.table)) continue
      if (this.failing.has(parsed.connection)) {
        this.leftPending(parsed.connection, parsed.table)
        continue
      }
      // Drain in bounded batches; rows queued meanwhile wait for the next flush.
      const limit = Math.max(1, Math.ceil(((await this.p.ipc.llen(this.p.keys.queue(table))) || 1) / this.p.options.batchSize))
      for (let i = 0; i < limit && !this.lost && !this.stopped && !this.failing.has(parsed.connection) && !this.blockedTables.has(table); i++) {
        if (!(await this.claimAndProcess(table, [], [], this.p.options.batchSize))) break
      }
    }
  }

  private async claimAndProcess(table: string, counters: string[], updates: string[], maxInserts: number): Promise<boolean> {
    failpoint('before-claim')
    if (this.stopped) return false
    // Claims are not fenced by the store: a holder that stalled past its lease must not claim
    // (a newer holder may have claimed newer values of the same rows meanwhile).
    if (!(await this.leaseHeld())) return false
    const named = parseTableMember(table)
    if (named) this.progress('claim', named.connection, named.table)
    // Claiming (state work) overlaps applying the previous batch (database work); at most one
    // batch waits to be applied, and batches are applied in the order they were claimed.
    const previous = this.applying
    const {batch, quarantined} = await stepsFor(this.p.ipc).claim(this.p.keys.prefix, {batchId: newBatchId(), table, createdAt: Date.now(), counters, updates, maxInserts})
    this.quarantined.push(...quarantined)
    if (!batch) {
      await previous
      return quarantined.length > 0
    }
    // The claim mark (redis driver): the fence counter moved past this claim. The commit records
    // it, so a store restored from a snapshot taken before the claim (mid-flush, its counter below
    // the mark) holds these writes as pending again and is refused, whatever lease it issues next.
    // The memory driver's checkpoint mirrors every claim, so it needs none.
    const mark = this.p.ipc.driver === 'redis' ? await this.p.ipc.incrBy(`${this.p.keys.flushLock}:fence`, 1) : 0
    failpoint('after-claim')
    this.applying = previous.then(() => this.process(batch, false, mark))
    await previous
    return true
  }

  /** Waits until every claimed batch has been applied (or left in flight with its error). */
  async applied(): Promise<void> {
    await this.applying
  }

  /** An index member whose name does not parse can never be applied: it moves aside, named in the report. */
  private async quarantine(kind: BadKind, member: string, why?: string): Promise<void> {
    const reason =
      why ?? (kind === 'q' ? 'the queue name is not {connection}:{table}' : `the key name is not {connection}:{table}:{where}${kind === 'c' ? ':{column}' : ''}`)
    await stepsFor(this.p.ipc).quarantine(this.p.keys.prefix, kind, member, reason)
    this.quarantined.push({key: `${kind}:${member}`, reason})
  }

  /** Applies one batch (retrying transient errors) and acknowledges it; errors stay in the report. */
  private async process(batch: StoredBatch, recovered: boolean, mark = 0): Promise<void> {
    const parsed = parseTableMember(batch.table)
    if (!parsed) return
    const report = this.tableReport(parsed.connection, parsed.table)
    report.batches++
    if (recovered) report.recovered++
    if (this.failing.has(parsed.connection)) {
      // Its connection failed earlier in this flush (a batch claimed meanwhile, or one left by an
      // earlier flush): it stays in flight for the next flush instead of failing again.
      this.leftPending(parsed.connection, parsed.table, true)
      return
    }
    if (this.blockedTables.has(batch.table) && !recovered) {
      // Claimed while an earlier batch was blocked: it stays in flight for the next flush.
      report.error ??= 'not applied: the table was blocked earlier in this flush (left in flight)'
      return
    }
    let db: Database
    try {
      db = this.p.dbs.get(parsed.connection)
    } catch (error) {
      report.error = error instanceof ConfigError ? error.message : errorText(error)
      this.failing.add(parsed.connection)
      return
    }
    try {
      await ensureLedger(db.knex, this.p.keys.prefix)
      await this.checkStore(db)
      const entries = entriesOf(batch, this.p.buffer.primaryKey)
      let clean = false
      for (let attempt = 0; ; attempt++) {
        try {
          // A batch claimed in this run, on its first attempt, cannot be in the ledger yet.
          clean = await this.apply(db, parsed.table, batch.id, entries, report, !recovered && attempt === 0, mark)
          break
        } catch (error) {
          if (error instanceof FencedOut && attempt === 0 && (await this.afterFencedOut(db, error))) continue
          // A lock another session holds is not retried at once: the batch waits for the next flush.
          if (!isTransient(error) || isBlocked(error) || attempt + 1 >= this.p.options.retries || this.lost || this.stopped) throw error
          this.progress('retry', parsed.connection, parsed.table, {retry: {attempt: attempt + 1, attempts: this.p.options.retries, error: errorText(error)}})
          const backoff = Math.min(5000, this.p.options.retryBaseMs * 2 ** attempt)
          await sleep(backoff / 2 + Math.random() * (backoff / 2), this.filter.signal)
        }
      }
      failpoint('after-commit')
      if (!clean) {
        const ranges = await ledgerRanges(db.knex, batch.id)
        // A flusher that stopped between recording `dead` and writing the dead letter left it
        // unwritten: the batch is still in flight, so it is written now, before the ack.
        report.deadLettered += await this.p.deadLetters.restore(parsed.connection, parsed.table, batch.id, entries, ranges)
        await stepsFor(this.p.ipc).ack(this.p.keys.prefix, batch.id, deadMembers(entries, ranges))
      } else await stepsFor(this.p.ipc).ack(this.p.keys.prefix, batch.id, [])
    } catch (error) {
      if (error instanceof StoreRolledBack) {
        this.rolledBack ??= error
        this.lost = true
      }
      // Stopped by the caller: the batch stays in flight, the error is the cancellation's, not the table's.
      if (this.stopped && !this.rolledBack) return
      if (error instanceof FencedOut) this.lost = true
      report.error = errorText(error)
      if (isBlocked(error)) {
        // Rows held by another session: this table waits for the next flush, the others go on.
        report.blocked = true
        this.blockedTables.add(batch.table)
        await this.p.ipc.hset(this.p.keys.blocked, {[batch.table]: {reason: report.error, at: Date.now()}}).catch(() => {})
      } else if (isTransient(error)) {
        this.failing.add(parsed.connection)
        if (isUnreachable(error)) {
          this.unreachable.set(parsed.connection, report.error)
          report.unreachable = true
        }
      }
    }
  }

  /** Tables this flush applied without error are no longer blocked. */
  async clearBlocked(): Promise<void> {
    const blocked = await this.p.ipc.hgetall(this.p.keys.blocked).catch(() => null)
    if (!blocked) return
    const cleared = [...this.tables.values()].filter((t) => !t.error && `${t.connection}:${t.table}` in blocked).map((t) => `${t.connection}:${t.table}`)
    if (cleared.length > 0) await this.p.ipc.hdel(this.p.keys.blocked, ...cleared).catch(() => {})
  }

  /**
   * Redis driver, once per database and run, before its first commit: the store's epoch marker
   * against the one the database recorded (see rollback.ts). A store with no marker gets one — or
   * adopts the database's when it holds nothing a flush could apply twice.
   */
  private checkStore(db: Database): Promise<void> {
    if (this.p.ipc.driver !== 'redis') return Promise.resolve()
    let checked = this.storeChecked.get(db.name)
    if (!checked) {
      checked = this.compareStore(db)
      this.storeChecked.set(db.name, checked)
      // A database that could not be read is compared again by the next batch that reaches it.
      checked.catch((error) => {
        if (!(error instanceof StoreRolledBack)) this.storeChecked.delete(db.name)
      })
    }
    return checked
  }

  /**
   * Redis driver, at the start of a flush: the store against every database. A store found behind
   * stops the flush here; a database that cannot be read now is compared before its first commit.
   */
  async checkStores(): Promise<void> {
    const only = filterConnections(this.filter)
    for (const name of this.p.dbs.names()) {
      if (only && !only.includes(name)) continue
      try {
        const db = this.p.dbs.get(name)
        await ensureLedger(db.knex, this.p.keys.prefix)
        await this.checkStore(db)
      } catch (error) {
        if (error instanceof StoreRolledBack) {
          this.rolledBack ??= error
          this.lost = true
          return
        }
        if (error instanceof FencedOut) {
          this.lost = true
          return
        }
      }
    }
  }

  private async compareStore(db: Database): Promise<void> {
    const prefix = this.p.keys.prefix
    const row = await fenceRow(db.knex, prefix)
    const start = await this.storeAtStart()
    if (start.epoch === null) {
      if (row?.epoch && start.pending) {
        throw this.rollback(db, `its epoch marker is gone while it holds pending writes (the database last committed from epoch ${row.epoch}): it restarted from a snapshot older than that`, row.fence, row.epoch, null)
      }
      // A new (or emptied) store: nothing it held at the start of this flush can have been applied.
      if (this.epoch === null) {
        this.epoch = row?.epoch ?? newEpoch()
        await this.p.ipc.set(epochKey(prefix), this.epoch)
      }
      if (row && !start.pending && highestFence(row) >= this.lease.fence && !(await this.catchUpFence(db))) throw new FencedOut(this.lease.fence, row.fence, row)
    } else this.epoch = start.epoch
    if (row?.epoch && row.epoch !== this.epoch) {
      throw this.rollback(db, `its epoch marker (${this.epoch}) is not the one the database last committed from (${row.epoch}): another store, or one restored from elsewhere`, row.fence, row.epoch, this.epoch)
    }
    // The lease this store just issued is not past what the database committed (a fence or a claim
    // mark): the store went back. Checked before the first commit, so flushes that find nothing to
    // commit cannot move the counter on until it looks current (a restored store holding only
    // dead letters a retry would apply again).
    if (row?.epoch && row.epoch === this.epoch && row.holder !== this.lease.token && highestFence(row) >= this.lease.fence) {
      throw this.rollback(db, this.behindReason(row), row.fence, row.epoch, this.epoch)
    }
  }

  /** The store's epoch marker as this flush found it, and (when it had none) whether it held pending state then. */
  storeAtStart(): Promise<{epoch: string | null; pending: boolean}> {
    this.startState ??= (async () => {
      const epoch = await readEpoch(this.p.ipc, this.p.keys.prefix)
      if (epoch !== null) return {epoch, pending: false}
      const pending = await holdsPendingState(this.p.ipc, this.p.keys.prefix)
      return {epoch: pending ? null : await this.adoptDatabases(), pending}
    })()
    return this.startState
  }

  /**
   * A store without an epoch marker that holds nothing (new, or emptied): nothing in it can be
   * applied twice, so it takes the databases' epoch and moves its fence counter past theirs now,
   * before writes arrive (a store without a marker that holds writes is a rollback suspect).
   * A database that cannot be read leaves the marker unset; the next flush tries again.
   */
  private async adoptDatabases(): Promise<string | null> {
    const prefix = this.p.keys.prefix
    let epoch: string | null = null
    let highest = 0
    try {
      for (const name of this.p.dbs.names()) {
        const db = this.p.dbs.get(name)
        await ensureLedger(db.knex, prefix)
        const row = await fenceRow(db.knex, prefix)
        epoch ??= row?.epoch ?? null
        highest = Math.max(highest, highestFence(row))
      }
    } catch {
      return null
    }
    epoch ??= newEpoch()
    await this.p.ipc.set(epochKey(prefix), epoch)
    if (highest >= this.lease.fence) await this.moveFencePast(highest)
    return epoch
  }

  private rollback(db: Database, reason: string, databaseFence: number | null, databaseEpoch: string | null, storeEpoch: string | null): StoreRolledBack {
    return new StoreRolledBack({at: Date.now(), connection: db.name, reason, storeFence: this.lease.fence, databaseFence, storeEpoch, databaseEpoch})
  }

  /**
   * A commit was fenced out. A holder that lost its lease stays fenced out (false). One that still
   * holds it was given a fence the database has already seen: on the memory driver an application
   * restart reset the counter (it catches up: true); on Redis the store came back from an older
   * snapshot — flushing stops (StoreRolledBack).
   */
  private async afterFencedOut(db: Database, error: FencedOut): Promise<boolean> {
    const holder = await this.p.ipc.inspectLock(this.p.keys.flushLock)
    if (holder?.token !== this.lease.token) return false
    if (this.p.ipc.driver !== 'redis') return this.catchUpFence(db)
    const row = error.row
    const reason =
      row && row.epoch !== null && this.epoch !== null && row.epoch !== this.epoch
        ? `its epoch marker (${this.epoch}) is not the one the database last committed from (${row.epoch})`
        : this.behindReason(row)
    throw this.rollback(db, reason, row?.fence ?? null, row?.epoch ?? null, this.epoch)
  }

  /** Why this flush's lease shows the store behind a database's fence row. */
  private behindReason(row: FenceRow | null): string {
    const fence = this.lease.fence
    if (row && row.fence === fence) return `it issued fence ${fence} a second time (the database committed that fence under another lease): it restarted from an older snapshot`
    if (row && row.fence < fence && row.mark !== null && row.mark >= fence) {
      return `it issued fence ${fence}, not past the claim mark ${row.mark} the database committed: it restarted from a snapshot taken during a flush, before that claim`
    }
    return `it issued fence ${fence}, behind the database's fence ${row?.fence ?? '?'}: it restarted from an older snapshot`
  }

  /**
   * Fenced out while still holding the lease: the state's fence counter is behind the database
   * (a memory-driver application restarted). Move the counter past the database's fence and
   * continue under a fresh lease; a holder that lost its lease stays fenced out.
   */
  private async catchUpFence(db: Database): Promise<boolean> {
    return this.moveFencePast(await storedFence(db.knex, this.p.keys.prefix))
  }

  /** Moves the store's fence counter past `stored` and re-takes the lease under a fence above it. */
  private async moveFencePast(stored: number): Promise<boolean> {
    const holder = await this.p.ipc.inspectLock(this.p.keys.flushLock)
    if (holder?.token !== this.lease.token) return false
    const requestedAt = performance.now()
    const fenceKey = `${this.p.keys.flushLock}:fence`
    const current = Number((await this.p.ipc.get(fenceKey)) ?? 0)
    if (stored >= current) await this.p.ipc.incrBy(fenceKey, stored - current + 1)
    const unlocked = await this.p.ipc.unlock(this.p.keys.flushLock, this.lease.token)
    if (!unlocked.released) return false
    const lease = await this.p.ipc.lock(this.p.keys.flushLock, this.p.options.leaseTtlMs / 1000)
    if (!lease) {
      this.lost = true
      return false
    }
    this.lease = lease
    this.validUntil = requestedAt + this.p.options.leaseTtlMs
    return true
  }

  /**
   * Applies the ranges of a batch that the ledger does not hold yet, isolating bad entries.
   * `fresh`: the batch cannot be in the ledger yet (saves a read). Returns true when the whole
   * batch went in at once, with no dead letters and nothing found applied already.
   */
  private async apply(db: Database, table: string, batchId: string, entries: Entry[], report: TableFlushReport, fresh: boolean, mark: number): Promise<boolean> {
    const connection = db.name
    let clean = fresh
    // `tried`: transactions that already held the range's entries (a dead letter records it).
    let queue: Array<{lo: number; hi: number; tried?: number}> = fresh ? (entries.length > 0 ? [{lo: 0, hi: entries.length}] : []) : pendingRanges(entries.length, await ledgerRanges(db.knex, batchId))
    while (queue.length > 0) {
      if (this.stopped) throw new Stopped()
      if (!(await this.leaseHeld())) throw new FencedOut(this.lease.fence, -1)
      const {tried = 0, ...range} = queue.shift()!
      this.progress('apply', connection, table)
      try {
        const counts = await abortableTransaction(db.knex, this.filter.signal, (trx) =>
          // Time limits first: a row another session keeps locked (the fence row included) fails
          // this transaction as transient instead of stalling every flush.
          withTransactionLimits(trx, db.dialect, this.p.buffer.statementTimeoutMs, db.knex, async () => {
          await checkFence(trx, this.p.keys.prefix, this.committer(mark))
          if (overlaps(range, await ledgerRanges(trx, batchId))) throw new AlreadyApplied()
          failpoint('mid-transaction')
          // statementTimeoutMs 0: the limits are set for this transaction already.
          const applied = await applyEntries(trx, db.dialect, table, entries.slice(range.lo, range.hi), this.p.buffer.insertBatchSize, db.knex, {statementTimeoutMs: 0})
          await recordRange(trx, batchId, {...range, outcome: 'applied'}, this.p.keys.prefix)
          return applied
        }))
        report.updates += counts.updates
        report.counters += counts.counters
        report.inserts += counts.inserts
        this.progress('applied', connection, table)
      } catch (error) {
        clean = false
        if (this.stopped) throw new Stopped()
        if (error instanceof AlreadyApplied) {
          queue = pendingRanges(entries.length, await ledgerRanges(db.knex, batchId))
          continue
        }
        if (error instanceof FencedOut || isTransient(error)) throw error
        if (range.hi - range.lo === 1) {
          // The ledger says `dead` first, the dead letter follows: a crash in between leaves a
          // `dead` range without its dead letter, which the batch's recovery writes (never an
          // entry both dead-lettered and applied by a recovery that found no ledger row).
          const recorded = await abortableTransaction(db.knex, this.filter.signal, (trx) =>
            withTransactionLimits(trx, db.dialect, this.p.buffer.statementTimeoutMs, db.knex, async () => {
            await checkFence(trx, this.p.keys.prefix, this.committer(mark))
            if (overlaps(range, await ledgerRanges(trx, batchId))) return false
            await recordRange(trx, batchId, {...range, outcome: 'dead'}, this.p.keys.prefix)
            return true
          }))
          failpoint('after-dead-ledger')
          if (recorded) {
            await this.p.deadLetters.add(connection, table, `${batchId}:${range.lo}`, entries[range.lo], {...refusalOf(error, db.dialect), attempts: tried + 1})
            report.deadLettered++
          }
          continue
        }
        queue = [...split(range, error instanceof RowsNotFound ? error.indexes.map((i) => range.lo + i) : null).map((r) => ({...r, tried: tried + 1})), ...queue]
      }
    }
    return clean
  }
}

/** The reason a single entry was refused, reason first; the statement apart. */
function refusalOf(error: unknown, dialect: Dialect): {reason: Refusal; statement: string | null} {
  if (error instanceof RowsNotFound) return {reason: {code: null, constraint: null, message: 'no row matches this key (an UPDATE would change nothing)'}, statement: null}
  const {refusal, statement} = describeRefusal(error, dialect)
  return {reason: refusal, statement}
}

/** Splits a failing range: around the known bad entries, else in halves. */
function split(range: {lo: number; hi: number}, bad: number[] | null): Array<{lo: number; hi: number}> {
  if (!bad || bad.length === 0) {
    const mid = range.lo + Math.floor((range.hi - range.lo) / 2)
    return [
      {lo: range.lo, hi: mid},
      {lo: mid, hi: range.hi},
    ]
  }
  const parts: Array<{lo: number; hi: number}> = []
  let start = range.lo
  for (const index of bad) {
    if (index > start) parts.push({lo: start, hi: index})
    parts.push({lo: index, hi: index + 1})
    start = index + 1
  }
  if (start < range.hi) parts.push({lo: start, hi: range.hi})
  return parts
}

function pendingRanges(length: number, done: LedgerRange[]): Array<{lo: number; hi: number}> {
  const sorted = [...done].sort((a, b) => a.lo - b.lo)
  const pending: Array<{lo: number; hi: number}> = []
  let at = 0
  for (const range of sorted) {
    if (range.lo > at) pending.push({lo: at, hi: range.lo})
    at = Math.max(at, range.hi)
  }
  if (at < length) pending.push({lo: at, hi: length})
  return pending
}

const overlaps = (range: {lo: number; hi: number}, done: LedgerRange[]) => done.some((d) => d.lo < range.hi && range.lo < d.hi)

function deadMembers(entries: Entry[], ranges: LedgerRange[]): string[] {
  const members: string[] = []
  for (const range of ranges) {
    if (range.outcome !== 'dead') continue
    for (let i = range.lo; i < range.hi; i++) {
      const entry = entries[i]
      if (entry?.kind === 'counter') members.push(...entry.members)
    }
  }
  return members
}
