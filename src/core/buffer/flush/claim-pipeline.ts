import {randomBytes} from 'node:crypto'

import {WbcError} from '../../errors.js'
import {failpoint} from '../../failpoints.js'
import type {Ipc} from '../../ipc/types.js'
import {parseMember, parseTableMember, type KeySpace} from '../keys.js'
import {isObject} from '../names.js'
import {badRowsOf, stepsFor, type BadKind, type StoredBatch} from '../steps/index.js'
import {inflightIds, SCAN_COUNT, scanAll} from './inflight.js'
import type {PreparedBatch} from './apply-batch.js'
import type {RunLease} from './lease.js'
import type {FlushRun} from './run.js'

/** An error that comes from what the state holds (not from reaching the store): the batch is what is wrong. */
const isStateProblem = (error: unknown): error is WbcError => error instanceof WbcError && error.code !== 'SERVICE_UNAVAILABLE' && error.code !== 'REQUEST_TIMEOUT'

const newBatchId = () => `${Date.now().toString(36).padStart(9, '0')}-${randomBytes(5).toString('hex')}`

/**
 * Applies one batch and acknowledges it (the batch applier); `mark` is its claim mark; `committed`
 * is called once a batch applied cleanly is committed, before its ack.
 */
export type ProcessBatch = (batch: StoredBatch, recovered: boolean, mark?: number, committed?: () => void, prepared?: PreparedBatch) => Promise<void>

/** What the claim pipeline works with. */
export interface ClaimPipelineParts {
  ipc: Ipc
  keys: KeySpace
  /** Rows moved into one in-flight batch. */
  batchSize: number
  lease: RunLease
  run: FlushRun
  process: ProcessBatch
  /** Work on a claimed batch that need not wait for its turn (see PreparedBatch). */
  prepare: (batch: StoredBatch) => PreparedBatch
}

/**
 * Decides what is applied, in which order: first the batches a crashed (or fenced-out) flusher
 * left in flight, then the pending indexes scanned a page at a time and claimed per table in
 * batches of `batchSize`. Claiming (state work) overlaps applying the previous batch (database
 * work), so the state and the database are busy at the same time; at most one claimed batch
 * waits, and batches are applied in the order they were claimed.
 */
export class ClaimPipeline {
  private readonly ipc: Ipc
  private readonly keys: KeySpace
  private readonly batchSize: number
  private readonly lease: RunLease
  private readonly run: FlushRun
  private readonly process: ProcessBatch
  private readonly prepare: (batch: StoredBatch) => PreparedBatch
  /** The batch being applied (resolved when none is): the next claim overlaps it. */
  private applying: Promise<void> = Promise.resolve()
  /** The last claimed batch fully processed (committed and acknowledged); see claimAndProcess. */
  private acked: Promise<void> = Promise.resolve()
  /** What the next claim waits for: the apply of the batch before the last one claimed has started. */
  private claimGate: Promise<void> = Promise.resolve()

  constructor(parts: ClaimPipelineParts) {
    this.ipc = parts.ipc
    this.keys = parts.keys
    this.batchSize = parts.batchSize
    this.lease = parts.lease
    this.run = parts.run
    this.process = parts.process
    this.prepare = parts.prepare
  }

  /** Batches a crashed (or fenced-out) flusher left, oldest first. */
  async recoverInflight(): Promise<void> {
    const sorted = (await inflightIds(this.ipc, this.keys)).sort()
    for (const [index, id] of sorted.entries()) {
      if (this.lease.lost || this.run.stopped) return
      let batch: StoredBatch
      try {
        const read = await stepsFor(this.ipc).readBatch(this.keys.prefix, id)
        if (read === null) {
          await this.ipc.srem(this.keys.inflightIndex, id)
          continue
        }
        batch = read
      } catch (error) {
        if (!isStateProblem(error)) throw error
        // Its bad queued rows (a claim died before setting them aside) go first; a batch that still
        // cannot be read (not one wbc wrote, or damaged) is set aside whole. The rest goes on.
        const raw = await this.ipc.get(this.keys.batch(id)).catch((again: unknown) => {
          if (isStateProblem(again)) return null
          throw again
        })
        const table = isObject(raw) && typeof raw.table === 'string' && parseTableMember(raw.table) ? raw.table : null
        const rest = await this.withoutBadRows(id, table, error)
        if (!rest) continue
        batch = rest
      }
      const parsed = parseTableMember(batch.table)
      if (parsed) this.run.progress('recover', parsed.connection, parsed.table, {of: {index: index + 1, total: sorted.length}})
      await this.process(batch, true)
    }
  }

  /** Scans an index a page at a time and claims per table once enough keys are gathered. */
  async claimKeyed(kind: 'updates' | 'counters'): Promise<void> {
    const index = kind === 'counters' ? this.keys.countersIndex : this.keys.updatesIndex
    const groups = new Map<string, string[]>()
    let cursor = '0'
    do {
      if (this.lease.lost || this.run.stopped) return
      const page = await this.ipc.sscan(index, cursor, SCAN_COUNT)
      cursor = page.cursor
      for (const member of page.items) {
        const parsed = parseMember(member, kind === 'counters')
        if (!parsed) {
          if (!this.run.filter.table && !this.run.filter.connection) await this.quarantine(kind === 'counters' ? 'c' : 'u', member)
          continue
        }
        if (!this.run.matches(parsed.connection, parsed.table)) continue
        if (this.run.failing.has(parsed.connection)) {
          this.run.leftPending(parsed.connection, parsed.table)
          continue
        }
        if (this.run.blockedTables.has(`${parsed.connection}:${parsed.table}`)) continue
        const table = `${parsed.connection}:${parsed.table}`
        const group = groups.get(table) ?? []
        group.push(member)
        groups.set(table, group)
        if (group.length >= this.batchSize) {
          groups.delete(table)
          await this.claimAndProcess(table, kind === 'counters' ? group : [], kind === 'updates' ? group : [], 0)
        }
      }
    } while (cursor !== '0')
    for (const [table, group] of groups) {
      if (this.lease.lost || this.run.stopped) return
      const parsed = parseTableMember(table)!
      if (this.run.failing.has(parsed.connection)) {
        this.run.leftPending(parsed.connection, parsed.table)
        continue
      }
      await this.claimAndProcess(table, kind === 'counters' ? group : [], kind === 'updates' ? group : [], 0)
    }
  }

  async claimQueues(): Promise<void> {
    const tables = await scanAll(this.ipc, this.keys.queuesIndex)
    for (const table of tables.sort()) {
      const parsed = parseTableMember(table)
      if (!parsed) {
        if (!this.run.filter.table && !this.run.filter.connection) await this.quarantine('q', table)
        continue
      }
      if (!this.run.matches(parsed.connection, parsed.table)) continue
      if (this.run.failing.has(parsed.connection)) {
        this.run.leftPending(parsed.connection, parsed.table)
        continue
      }
      // Drain in bounded batches; rows queued meanwhile wait for the next flush.
      const limit = Math.max(1, Math.ceil(((await this.ipc.llen(this.keys.queue(table))) || 1) / this.batchSize))
      for (let i = 0; i < limit && !this.lease.lost && !this.run.stopped && !this.run.failing.has(parsed.connection) && !this.run.blockedTables.has(table); i++) {
        if (!(await this.claimAndProcess(table, [], [], this.batchSize))) break
      }
    }
  }

  /**
   * Claims one batch and hands it to be applied once the previous one is done. It first waits for
   * the batch before the last one claimed (the caller scans for this group meanwhile), so this
   * claim overlaps the last batch's apply. False when nothing was claimed (nothing left, or
   * nothing more may be claimed in this flush).
   */
  private async claimAndProcess(table: string, counters: string[], updates: string[], maxInserts: number): Promise<boolean> {
    await this.claimGate
    // The group was gathered while earlier batches were applied: decided again now that they are.
    const target = parseTableMember(table)
    if (target && (this.run.failing.has(target.connection) || this.run.blockedTables.has(table))) {
      if (this.run.failing.has(target.connection)) this.run.leftPending(target.connection, target.table)
      return false
    }
    failpoint('before-claim')
    if (this.run.stopped) return false
    // Claims are not fenced by the store: a holder that stalled past its lease must not claim
    // (a newer holder may have claimed newer values of the same rows meanwhile).
    if (!(await this.lease.held())) return false
    const named = parseTableMember(table)
    if (named) this.run.progress('claim', named.connection, named.table)
    // Claiming (state work) overlaps applying the previous batch (database work); at most one
    // batch waits to be applied, and batches are applied in the order they were claimed.
    const previous = this.applying
    const redis = this.ipc.driver === 'redis'
    // After the lease check above: a pause here outlives the lease (the claim step checks it again).
    failpoint('before-claim-step')
    const claimUnder = (token: string) =>
      stepsFor(this.ipc).claim(this.keys.prefix, {batchId: newBatchId(), table, createdAt: Date.now(), counters, updates, maxInserts, ...(redis ? {lease: token} : {})})
    const token = this.lease.current.token
    let claimed = await claimUnder(token)
    // This run may have taken its lease again meanwhile (the fence catching up, moveFencePast):
    // the claim went under the token it replaced, and is made once more under the current one.
    if (claimed.leaseLost && !this.lease.lost && this.lease.current.token !== token) claimed = await claimUnder(this.lease.current.token)
    if (claimed.leaseLost) {
      // The lease was taken over between the check above and the claim: this run claims no more.
      this.lease.lost = true
      await previous
      return false
    }
    const {quarantined} = claimed
    this.run.quarantined.push(...quarantined)
    let batch = claimed.batch
    // The claim takes queued rows unchecked (checking them cost Redis three times what taking them
    // does): a bad one is set aside before the batch is applied.
    if (batch && badRowsOf(batch)) batch = await this.withoutBadRows(batch.id, table, undefined, batch)
    if (!batch) {
      await previous
      return claimed.batch !== null || quarantined.length > 0
    }
    // The claim mark (redis driver): the fence counter moved past this claim. The commit records
    // it, so a store restored from a snapshot taken before the claim (mid-flush, its counter below
    // the mark) holds these writes as pending again and is refused, whatever lease it issues next.
    // The memory driver's checkpoint mirrors every claim, so it needs none. The claim step takes it
    // itself (a separate INCR waited behind the ack of the batch before, on the path to the apply).
    const mark = redis ? (claimed.mark ?? (await this.ipc.incrBy(this.keys.flushFence, 1))) : 0
    failpoint('after-claim')
    // A clean batch's ack (state work) overlaps applying the next one: the next apply waits for
    // this batch's commit, and for the ack of the batch before it (at most one ack outstanding).
    let committed!: () => void
    const commit = new Promise<void>((resolve) => (committed = resolve))
    // Its entries and statements are made now, while the batch before it is in its transaction.
    const prepared = this.prepare(batch)
    const done = previous.then(() => this.process(batch, false, mark, committed, prepared))
    const ackBefore = this.acked
    this.acked = done
    this.applying = Promise.all([Promise.race([commit, done]), ackBefore]).then(() => undefined)
    this.claimGate = previous
    return true
  }

  /** Waits until every claimed batch has been applied (or left in flight with its error). */
  async applied(): Promise<void> {
    await this.applying
    await this.acked
  }

  /**
   * An in-flight batch after its bad queued rows are set aside, read again and checked whole; null
   * when nothing of it is left to apply (then acknowledged) or it is gone. `claimed`: the batch as
   * the claim answered it (else it is read). A batch that still cannot be applied (or whose table
   * is unknown: null) is set aside whole, with `problem` or what its reading found.
   */
  private async withoutBadRows(id: string, table: string | null, problem?: WbcError, claimed?: StoredBatch): Promise<StoredBatch | null> {
    const steps = stepsFor(this.ipc)
    let why = problem
    // What the reason says: reading the batch, or moving its bad rows (a key of the wrong type where
    // they go keeps the whole batch aside with them, good rows too: nothing is lost or stuck).
    let doing = 'the batch cannot be read'
    if (table !== null) {
      try {
        let read: StoredBatch | null = claimed ?? (await steps.readBatch(this.keys.prefix, id, {rows: false}))
        // The rows set aside are the ones this check names, by position in the batch as read: the
        // step moves exactly those (or nothing, when the batch changed meanwhile: read again, once).
        for (let attempt = 0; read && attempt < 2; attempt++) {
          const bad = badRowsOf(read)
          if (!bad) break
          failpoint('before-set-aside-rows')
          doing = 'its bad queued rows cannot be set aside'
          const answer = await steps.setAsideRows(this.keys.prefix, id, table, bad)
          doing = 'the batch cannot be read'
          failpoint('after-set-aside-rows')
          if (answer === null) read = null
          else if ('setAside' in answer) {
            this.run.quarantined.push({key: `q:${table}`, reason: bad.reason})
            if (answer.left === 0) {
              await steps.ack(this.keys.prefix, id, [])
              return null
            }
            break
          } else if ('foreign' in answer) break
          else read = await steps.readBatch(this.keys.prefix, id, {rows: false})
        }
        const batch = read && (await steps.readBatch(this.keys.prefix, id))
        if (!batch) await this.ipc.srem(this.keys.inflightIndex, id)
        return batch
      } catch (error) {
        if (!isStateProblem(error)) throw error
        why = error
      }
    }
    await this.quarantine('if', id, `${doing}: ${why?.message ?? 'its table is not {connection}:{table}'}`)
    await this.ipc.del(this.keys.inflightDeltas(id))
    return null
  }

  /** An index member whose name does not parse can never be applied: it moves aside, named in the report. */
  private async quarantine(kind: BadKind, member: string, why?: string): Promise<void> {
    const reason = why ?? (kind === 'q' ? 'the queue name is not {connection}:{table}' : `the key name is not {connection}:{table}:{where}${kind === 'c' ? ':{column}' : ''}`)
    await stepsFor(this.ipc).quarantine(this.keys.prefix, kind, member, reason)
    this.run.quarantined.push({key: `${kind}:${member}`, reason})
  }
}
