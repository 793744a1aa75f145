import {DeadLetters} from '../../core/buffer/dead-letters.js'
import {createWriteBuffer, type WriteBuffer} from '../../core/buffer/write-buffer.js'
import type {LoadedConfig} from '../../core/config/load.js'
import {listLocks, releaseLock} from '../../core/inspect/locks.js'
import {readTotals} from '../../core/inspect/stats.js'
import {ExitCode, WbcError} from '../../core/errors.js'
import {compactStream} from '../../core/streams/compact.js'
import {isEmptyPolicy, policyFor} from '../../core/streams/policy.js'
import {listStreams} from '../../core/streams/streams.js'
import {readLeaseAndLastFlush, readStatus, type BadKey, type StatusFilter, type TableStatus} from '../../core/inspect/status.js'
import type {DashboardSnapshot, DashboardSource} from './source.js'

/**
 * The dashboard's view of a real deployment. The engine (state + databases) is opened lazily and
 * reopened after a failure, so a service that goes away shows as a banner, not a crash.
 */
export class CoreDashboardSource implements DashboardSource {
  private engine?: Promise<WriteBuffer>
  private readonly seen = new Set<string>()
  private counts?: {at: number; costMs: number; tables: TableStatus[]; badKeys: BadKey[]; badKeysTotal: number}

  constructor(
    private readonly loaded: LoadedConfig,
    private readonly filter: StatusFilter,
  ) {}

  private get prefix(): string {
    return this.loaded.config.ipc.prefix
  }

  private async wb(): Promise<WriteBuffer> {
    if (!this.engine) {
      const memory = this.loaded.config.ipc.driver === 'memory'
      this.engine = createWriteBuffer(this.loaded.config, {role: memory ? 'socket' : 'auto', timers: false, checkpoint: false})
      this.engine.catch(() => {
        this.engine = undefined
      })
    }
    return this.engine
  }

  /** Runs work against the engine; on a failure the connection is dropped and reopened next time. */
  private async use<T>(work: (wb: WriteBuffer) => Promise<T>): Promise<T> {
    const wb = await this.wb()
    try {
      return await work(wb)
    } catch (error) {
      if ((error as {exitCode?: number}).exitCode === 3) {
        this.engine = undefined
        await wb.disconnect().catch(() => {})
      }
      throw error
    }
  }

  /**
   * The per-table counts need a walk over every pending key; with many keys that walk is redone
   * only once it is 20 refreshes' worth of its own cost old (so it stays a few percent of a
   * core). The lease, the last flush, the locks and the totals (for rates) are read every time.
   */
  read(): Promise<DashboardSnapshot> {
    return this.use(async (wb) => {
      const now = Date.now()
      if (!this.counts || now - this.counts.at >= this.counts.costMs * 20) {
        const status = await readStatus(wb.ipc, this.prefix, this.filter, now)
        this.counts = {at: now, costMs: Date.now() - now, tables: status.tables, badKeys: status.badKeys, badKeysTotal: status.badKeysTotal}
      }
      const age = now - this.counts.at
      const tables = this.counts.tables.map((t) => (t.oldestPendingMs === null ? t : {...t, oldestPendingMs: t.oldestPendingMs + age}))
      const {badKeys, badKeysTotal} = this.counts
      const status = {driver: wb.ipc.driver, prefix: this.prefix, target: wb.ipc.address, tables, badKeys, badKeysTotal, ...(await readLeaseAndLastFlush(wb.ipc, this.prefix, now))}
      // Tables seen earlier keep their totals read (they may have drained since).
      for (const t of status.tables) this.seen.add(`${t.connection}:${t.table}`)
      const totals = await readTotals(wb.ipc, this.prefix, [...this.seen])
      return {at: Date.now(), status, totals, locks: await listLocks(wb.ipc, this.prefix)}
    })
  }

  deadLetters(connection: string, table: string) {
    return this.use((wb) => new DeadLetters(wb.ipc, this.prefix, this.loaded.config.buffer.primaryKey).list(connection, table))
  }

  flush(filter: {connection?: string; table?: string}) {
    return this.changing((wb) => wb.flush(filter))
  }

  /** An action changes the counts: the next read walks the keys again. */
  private changing<T>(work: (wb: WriteBuffer) => Promise<T>): Promise<T> {
    return this.use(work).finally(() => {
      this.counts = undefined
    })
  }

  releaseLock(key: string, force: boolean) {
    return this.use((wb) => releaseLock(wb.ipc, this.prefix, key, {force}))
  }

  retryDeadLetter(connection: string, table: string, id: string) {
    return this.changing(async (wb) => (await wb.deadLetters.retry(connection, table, [id])).retried.length)
  }

  dropDeadLetter(connection: string, table: string, id: string) {
    return this.changing((wb) => wb.deadLetters.drop(connection, table, [id]))
  }

  events(limit: number) {
    return this.use((wb) => wb.ipc.lrange(`${this.prefix}:events`, -limit, -1))
  }

  streams() {
    return this.use((wb) => listStreams(wb.ipc, this.prefix, this.loaded.config.streams))
  }

  compact(name: string) {
    return this.changing(async (wb) => {
      const policy = policyFor(name, this.loaded.config.streams)
      if (!policy || isEmptyPolicy(policy)) {
        throw new WbcError('NO_POLICY', `${name} has no compaction policy`, {exitCode: ExitCode.usage, hint: 'Configure one under "streams", or use `wbc compact` with rules.'})
      }
      return compactStream(wb.ipc, `${this.prefix}:${name}`, policy)
    })
  }

  async close(): Promise<void> {
    const engine = this.engine
    this.engine = undefined
    if (engine) await (await engine.catch(() => undefined))?.disconnect()
  }
}
