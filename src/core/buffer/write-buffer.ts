// Longer than 300 lines on purpose: this is the library's public surface (WriteBuffer, TableBuffer,
// RowBuffer), kept in one file so an application developer reads the whole API in one place; the
// work behind each method lives in its own module (steps/, flusher, counter-total, insert-batcher).
import cluster from 'node:cluster'

import type {Knex} from 'knex'

import {parseConfig} from '../config/load.js'
import type {BufferConfig, StreamPolicyInput, WbcConfig, WbcConfigInput} from '../config/schema.js'
import {ExitCode, TotalUnavailable, WbcError} from '../errors.js'
import {createIpc, type CreateIpcOptions} from '../ipc/create.js'
import type {Ipc, Json} from '../ipc/types.js'
import {Databases} from '../sql/databases.js'
import {counterBreakdown, type CounterBreakdown} from './counter-total.js'
import {stepsFor, type BufferSteps, type IncrementResult} from './steps/index.js'
import {DeadLetters, ledgerLookup} from './dead-letters.js'
import {Flusher, type FlushFilter, type FlushProgress, type FlushReport} from './flusher.js'
import {InsertBatcher} from './insert-batcher.js'
import {assertIdentifier, counterMember, encodeWhere, KeySpace, rowMember, tableMember, type Where} from './keys.js'
import {assertColumns, assertDelta, columnsJson} from './validate.js'
import {compactStream, type CompactResult} from '../streams/compact.js'
import {DEFAULT_EVENTS_POLICY, EVENTS_STREAM, isEmptyPolicy, policyFor} from '../streams/policy.js'
import {listStreams} from '../streams/streams.js'
import {TotalReads} from './total-reads.js'

export interface WriteBufferOptions {
  /** Flush every `flushInterval` (and when a queue reaches `maxQueueSize`). Default: on, except in cluster workers of the memory driver (their primary flushes). */
  timers?: boolean
  /** How the memory driver is reached (see createIpc). */
  role?: CreateIpcOptions['role']
  serveSocket?: boolean
  /** Flush lease time; renewed while a flush runs. Default 30 s. */
  leaseTtlMs?: number
  /** How long a counter's DB base stays cached for get()/increment(). Default 5 min. */
  baseCacheTtlMs?: number
  /** Attempts per batch on transient DB errors within one flush. Default 5. */
  retries?: number
  /** Rows per in-flight batch. Default 5000. */
  batchSize?: number
  /** Memory driver: keep the LMDB checkpoint at `buffer.checkpointPath`. Default true (false: no crash safety). */
  checkpoint?: boolean
  /** Called after every committed range of a flush (for progress displays). */
  onProgress?: (progress: FlushProgress) => void
}

/** What a write buffer is made of (createWriteBuffer assembles it from a config or from provided resources). */
export interface WriteBufferParts {
  ipc: Ipc
  /** The buffer opened the Ipc, so closing the buffer closes it. */
  ownsIpc: boolean
  prefix: string
  databases: Databases
  /** The `buffer` section of the config. */
  config: BufferConfig
  options?: WriteBufferOptions
  /** Stream policies by stream name (the `streams` section of the config). */
  streams?: Record<string, StreamPolicyInput>
}

/** An application's own Ipc and knex instances instead of a config. */
export interface ProvidedResources {
  ipc: Ipc
  connections: Record<string, Knex>
  prefix?: string
  buffer?: Partial<BufferConfig>
  streams?: Record<string, StreamPolicyInput>
}

/** Row handles kept across all tables (TableBuffer.where): enough for a large hot set, bounded in memory. */
const MAX_CACHED_ROWS = 200_000

const closedError = () => new WbcError('BUFFER_CLOSED', 'the write buffer is closed; nothing was buffered', {exitCode: ExitCode.usage, hint: 'Open a new write buffer.'})

const isProvided = (input: unknown): input is ProvidedResources => Boolean(input) && typeof (input as ProvidedResources).ipc === 'object' && typeof (input as {ipc: Ipc}).ipc?.incrBy === 'function'

/** Opens a write buffer from a config (file contents or object) or from an Ipc and knex instances. */
export async function createWriteBuffer(input: WbcConfigInput | WbcConfig | ProvidedResources = {}, options: WriteBufferOptions = {}): Promise<WriteBuffer> {
  if (isProvided(input)) {
    const buffer = parseConfig({buffer: input.buffer ?? {}}).buffer
    return new WriteBuffer({ipc: input.ipc, ownsIpc: false, prefix: input.prefix ?? 'wb', databases: new Databases({}, input.connections), config: buffer, options, streams: input.streams ?? {}})
  }
  const config = parseConfig(input)
  const ipc = await createIpc(config.ipc, {
    role: options.role,
    serveSocket: options.serveSocket,
    checkpoint: options.checkpoint === false ? undefined : {path: config.buffer.checkpointPath, intervalMs: config.buffer.checkpointInterval},
  })
  return new WriteBuffer({ipc, ownsIpc: true, prefix: config.ipc.prefix, databases: new Databases(config.connections), config: config.buffer, options, streams: config.streams})
}

export class WriteBuffer {
  readonly deadLetters: DeadLetters
  private readonly flusher: Flusher
  private readonly timer?: NodeJS.Timeout
  private closed = false
  private readonly streams: Record<string, StreamPolicyInput>
  private policiesAt = 0
  /** Writes under way, and who waits for them to end (close). */
  private writing = 0
  private idle?: () => void
  private queueFlush?: Promise<unknown>
  /** The last error of a timed flush (timers never throw; status and this say what failed). */
  lastError?: Error

  readonly ipc: Ipc
  /** The atomic steps on this Ipc's store. */
  readonly steps: BufferSteps
  readonly prefix: string
  readonly databases: Databases
  /** The `buffer` section of the config. */
  readonly config: BufferConfig
  /** How long a counter's DB base stays cached (WriteBufferOptions.baseCacheTtlMs, resolved). */
  readonly baseCacheTtlMs: number
  private readonly ownsIpc: boolean

  constructor({ipc, ownsIpc, prefix, databases, config, options = {}, streams = {}}: WriteBufferParts) {
    this.ipc = ipc
    this.steps = stepsFor(ipc)
    this.ownsIpc = ownsIpc
    this.prefix = prefix
    this.databases = databases
    this.config = config
    this.baseCacheTtlMs = options.baseCacheTtlMs ?? 300_000
    this.deadLetters = new DeadLetters(ipc, prefix, config.primaryKey, ledgerLookup(databases))
    this.flusher = new Flusher(ipc, prefix, databases, config, {
      leaseTtlMs: options.leaseTtlMs ?? 30_000,
      retries: options.retries ?? 5,
      retryBaseMs: 200,
      batchSize: options.batchSize ?? 5000,
      onProgress: options.onProgress,
      eventsMaxCount: (policyFor(EVENTS_STREAM, streams) ?? DEFAULT_EVENTS_POLICY).maxCount ?? DEFAULT_EVENTS_POLICY.maxCount!,
    })
    this.streams = streams
    const timers = options.timers ?? !(ipc.driver === 'memory' && cluster.isWorker)
    if (timers) {
      this.timer = setInterval(() => void this.timedFlush(), config.flushInterval)
      this.timer.unref()
    }
  }

  private readonly tables = new Map<string, TableBuffer>()
  private cachedRows = 0
  private turnInserts?: InsertBatcher

  private turnTotals?: TotalReads

  /** @internal The counter totals asked for in one turn, read together (one SELECT per connection). */
  get totals(): TotalReads {
    return (this.turnTotals ??= new TotalReads(this.steps, this.prefix, this.config.primaryKey, () => this.baseCacheTtlMs))
  }

  /** @internal The inserts of one turn, one step call per table. */
  get inserts(): InsertBatcher {
    return (this.turnInserts ??= new InsertBatcher((table, rows) => this.steps.insert(this.prefix, table, rows)))
  }

  table(table: string): TableBuffer {
    // Most calls name a handful of tables: their validated handles are kept.
    let handle = this.tables.get(table)
    if (!handle) {
      // Only a kept handle caches rows: cachedRow() can drop only the caches of the handles kept here.
      const kept = this.tables.size < 1000
      handle = new TableBuffer(this, 'default', table, kept)
      if (kept) this.tables.set(table, handle)
    }
    return handle
  }

  connection(connection: string): {table(table: string): TableBuffer} {
    assertIdentifier(connection, 'connection')
    return {table: (table: string) => new TableBuffer(this, connection, table)}
  }

  /** Flushes now (all tables, or those the filter names) and says what was written. */
  flush(filter: FlushFilter = {}): Promise<FlushReport> {
    return this.flusher.flush(filter)
  }

  /** Stops intake, waits for writes under way, flushes a last time, then closes what it opened. */
  async close(): Promise<FlushReport | null> {
    if (this.closed) return null
    this.closed = true
    if (this.timer) clearInterval(this.timer)
    if (this.writing > 0) await new Promise<void>((resolve) => (this.idle = resolve))
    let report: FlushReport | null = null
    try {
      report = await this.flush()
    } catch (error) {
      // The data stays in the state store (and its checkpoint); nothing is dropped.
      this.lastError = error as Error
    }
    if (this.ownsIpc) await this.ipc.close()
    await this.databases.close()
    return report
  }

  /** Closes connections without a final flush (for tools that only inspect or flush on demand). */
  async disconnect(): Promise<void> {
    this.closed = true
    if (this.timer) clearInterval(this.timer)
    if (this.ownsIpc) await this.ipc.close()
    await this.databases.close()
  }

  /** @internal Tracks a write so that close() waits for it. */
  track<T>(work: () => Promise<T>): Promise<T> {
    if (this.closed) return Promise.reject(closedError())
    const promise = work()
    this.writing++
    const done = () => this.written()
    promise.then(done, done)
    return promise
  }

  /** @internal A write starts that calls written() when it settles (track() without its extra promise); false once closed. */
  startWrite(): boolean {
    if (this.closed) return false
    this.writing++
    return true
  }

  /** @internal A write started with startWrite() settled. */
  written(): void {
    if (--this.writing === 0) this.idle?.()
  }

  /** @internal A row handle was cached (TableBuffer.where): past the limit every table's cache is dropped. */
  cachedRow(): void {
    if (++this.cachedRows <= MAX_CACHED_ROWS) return
    for (const table of this.tables.values()) table.forgetRows()
    this.cachedRows = 1
  }

  /** @internal A queue reached maxQueueSize: flush that table soon (one at a time). */
  queueFull(connection: string, table: string): void {
    if (this.queueFlush || this.closed || this.timer === undefined) return
    this.queueFlush = this.flush({connection, table})
      .catch((error) => {
        this.lastError = error as Error
      })
      .finally(() => {
        this.queueFlush = undefined
      })
  }

  private async timedFlush(): Promise<void> {
    try {
      await this.flush()
      if (Date.now() - this.policiesAt >= 60_000) {
        this.policiesAt = Date.now()
        await this.applyStreamPolicies()
      }
    } catch (error) {
      this.lastError = error as Error
    }
  }

  /**
   * Applies the configured compaction policies (and the event stream's default age limit). Runs
   * after timed flushes, at most once a minute; streams without a policy are left alone.
   */
  async applyStreamPolicies(): Promise<CompactResult[]> {
    const results: CompactResult[] = []
    const names = Object.keys(this.streams).length > 0 ? (await listStreams(this.ipc, this.prefix, this.streams)).map((s) => s.name) : [EVENTS_STREAM]
    for (const name of names) {
      const policy = policyFor(name, this.streams)
      if (!policy || isEmptyPolicy(policy)) continue
      try {
        results.push(await compactStream(this.ipc, KeySpace.of(this.prefix).stream(name), policy))
      } catch (error) {
        // A stream that changed under the compactor is compacted next time.
        if ((error as {code?: string}).code !== 'STREAM_CHANGED') throw error
      }
    }
    return results
  }
}

export class TableBuffer {
  /** Row handles by the scalar where they were made for: a hot row's where is encoded and its member strings built once. */
  private rows?: Map<string | number, RowBuffer>

  constructor(
    private readonly wb: WriteBuffer,
    readonly connection: string,
    readonly table: string,
    /** Keep row handles (only handles the write buffer keeps: they are dropped together when there are too many). */
    cacheRows = false,
  ) {
    assertIdentifier(table, 'table')
    if (cacheRows) this.rows = new Map()
  }

  where(where: Where): RowBuffer {
    const rows = this.rows
    // Only a valid where is cached (encodeWhere throws first); 1 and '1' are two entries for one row.
    const scalar = rows !== undefined && (typeof where === 'number' || typeof where === 'string')
    if (scalar) {
      const row = rows.get(where)
      if (row) return row
    }
    const row = new RowBuffer(this.wb, this.connection, this.table, encodeWhere(where, this.wb.config.primaryKey))
    if (scalar) {
      this.wb.cachedRow()
      rows.set(where, row)
    }
    return row
  }

  /** @internal Drops the cached row handles. */
  forgetRows(): void {
    this.rows?.clear()
  }

  /**
   * Queues rows for a batched INSERT; returns the queue length right after them. Invalid rows
   * reject (nothing is queued). Concurrent calls in one turn share one step (insert-batcher.ts).
   */
  async insert(rows: Record<string, Json> | Array<Record<string, Json>>): Promise<number> {
    const list = Array.isArray(rows) ? rows : [rows]
    if (list.length === 0) return 0
    // Snapshots: the rows are sent at the end of the turn, as they were when insert() was called.
    let chars = 0
    const snapshot = list.map((row, i) => {
      const text = columnsJson(row, Array.isArray(rows) ? `rows[${i}]` : 'row')
      chars += text.length
      return JSON.parse(text) as Json
    })
    return this.wb.track(async () => {
      const length = await this.wb.inserts.add(tableMember(this.connection, this.table), snapshot, chars)
      if (length >= this.wb.config.maxQueueSize) this.wb.queueFull(this.connection, this.table)
      return length
    })
  }

  flush(): Promise<FlushReport> {
    return this.wb.flush({connection: this.connection, table: this.table})
  }
}

export class RowBuffer {
  constructor(
    private readonly wb: WriteBuffer,
    readonly connection: string,
    readonly table: string,
    readonly where: string,
  ) {}

  /** The last counter column named here (checked) and its member: most rows are incremented on one column. */
  private column?: string
  private member?: string

  /** Adds to a counter column; returns the current total (DB base + pending). */
  increment(column: string, delta = 1): Promise<number> {
    let member: string
    try {
      member = this.counter(column)
      assertDelta(delta)
    } catch (error) {
      return Promise.reject(error)
    }
    const wb = this.wb
    if (!wb.startWrite()) return Promise.reject(closedError())
    // One reaction per increment: a warm total is added up as the step answers.
    return wb.steps.increment(wb.prefix, member, delta).then(
      (r) => {
        if (r.base === null) return this.coldTotal(member, r)
        wb.written()
        return r.base + r.inflight + r.live
      },
      (error: unknown) => {
        wb.written()
        throw error
      },
    )
  }

  /** The member of a counter column of this row; throws for a column that is not an identifier. */
  private counter(column: string): string {
    // Only a checked name is kept, so a string equal to it is one too.
    if (this.member !== undefined && column === this.column) return this.member
    assertIdentifier(column, 'column')
    this.member = counterMember(this.connection, this.table, this.where, column)
    this.column = column
    return this.member
  }

  /** No base was cached: the total is read from the database (and the base cached) before the write counts as done. */
  private coldTotal(member: string, r: IncrementResult): Promise<number> {
    const wb = this.wb
    let total: Promise<number>
    try {
      // The delta is stored now; a failed read of the total must not invite a retry.
      total = wb.totals.read(this.connection, wb.databases.get(this.connection), member, r.reading).catch((error: unknown) => {
        throw new TotalUnavailable(member, error)
      })
    } catch (error) {
      // A connection that is not configured throws here: the write still ends, or close() would wait for it forever.
      total = Promise.reject(error)
    }
    const done = () => wb.written()
    total.then(done, done)
    return total
  }

  /** The current total of a counter column: DB base + pending, counted once. */
  async get(column: string): Promise<number> {
    assertIdentifier(column, 'column')
    return this.total(counterMember(this.connection, this.table, this.where, column))
  }

  /** A counter's total with its parts (DB base, in flight, live delta), read together so they add up. */
  async breakdown(column: string): Promise<CounterBreakdown> {
    assertIdentifier(column, 'column')
    const member = counterMember(this.connection, this.table, this.where, column)
    return counterBreakdown(this.wb.steps, this.wb.prefix, this.wb.databases.get(this.connection), member, this.wb.config.primaryKey, this.wb.baseCacheTtlMs)
  }

  /** Sets columns of this row at the next flush; the last value written for a column wins. */
  async update(fields: Record<string, Json>): Promise<void> {
    assertColumns(fields, 'fields')
    return this.wb.track(() => this.wb.steps.update(this.wb.prefix, rowMember(this.connection, this.table, this.where), fields))
  }

  private total(member: string): Promise<number> {
    return this.wb.totals.read(this.connection, this.wb.databases.get(this.connection), member)
  }
}
