// Longer than 300 lines on purpose: the primary's three ways in (in process, cluster IPC, the
// socket) share one request loop, its checkpoint ordering and its shutdown, which must be read together.
import cluster, {type Worker} from 'node:cluster'
import {chmodSync, lstatSync, unlinkSync, type Stats} from 'node:fs'
import {createConnection, createServer, type Server, type Socket} from 'node:net'
import {dirname} from 'node:path'

import type {Checkpoint} from '../../checkpoint/checkpoint.js'
import {ExitCode, WbcError} from '../../errors.js'
import {assertPlainFileOrAbsent, ensurePrivateFolder, kindOf} from '../../fs/safe-files.js'
import {assertOwnFile} from '../../ownership.js'
import {mirrorWritesOf} from '../../checkpoint/mirror.js'
import {restoreInto, snapshotOf} from '../../checkpoint/state.js'
import type {Json} from '../types.js'
import {batchedSender, isBatch, isWbcMessage, runStoreOp, serializeError, type ClientMessage, type PrimaryMessage} from './protocol.js'
import {registeredStep, type StepDurability} from './step-registry.js'
import {MemoryStore} from './store.js'
import {closeWithError, DEFAULT_SOCKET_LIMITS, SocketConnection, tooManyConnections, type SocketLimits} from './socket-connection.js'

type Deliver = (message: PrimaryMessage) => void

/**
 * Holds the memory driver's state and answers requests one at a time: from its own process, from
 * cluster workers (cluster IPC) and from separate processes such as `wbc` (a local socket).
 */
export class MemoryPrimary {
  readonly store = new MemoryStore()
  private readonly channels = new Map<string, Map<string, (message: Extract<PrimaryMessage, {kind: 'msg'}>) => void>>()
  private readonly sweeper: NodeJS.Timeout
  private server?: Server
  private socketPath?: string
  private socketInode?: number
  private readonly sockets = new Set<Socket>()
  /** Socket clients being served (refused ones are in `sockets` only, until they are cut). */
  private served = 0
  private readonly limits: SocketLimits
  private checkpoint?: {file: Checkpoint; prefix: string; timer: NodeJS.Timeout}
  private clusterListener?: (worker: Worker, msg: unknown) => void
  private exitListener?: (worker: Worker) => void

  constructor(limits: Partial<SocketLimits> = {}) {
    this.limits = {...DEFAULT_SOCKET_LIMITS, ...limits}
    this.sweeper = setInterval(() => this.store.sweepExpired(), 1000)
    this.sweeper.unref()
  }

  /** Handles one client message; `origin` names the connection for subscriptions. */
  handle(msg: ClientMessage, origin: string, deliver: Deliver): void {
    const reply = (ok: boolean, payload: unknown) =>
      deliver(ok ? {wbc: 1, kind: 'res', cid: msg.cid, id: msg.id, ok: true, result: payload} : {wbc: 1, kind: 'res', cid: msg.cid, id: msg.id, ok: false, error: serializeError(payload)})
    try {
      if (msg.kind === 'req') {
        if (msg.op === 'publish') reply(true, this.publish(String(msg.args[0]), msg.args[1] as Json))
        else if (msg.op === 'checkpoint') {
          const out = msg.args[0]
          this.checkpointNow(typeof out === 'string' ? out : undefined).then(
            (result) => reply(true, result),
            (error) => reply(false, error),
          )
        } else {
          const {result, durable} = this.run(msg.op, Array.isArray(msg.args) ? msg.args : [])
          // A step that must be durable first (a claim) is answered only once the checkpoint holds it.
          if (durable)
            durable.then(
              () => reply(true, result ?? null),
              (error) => reply(false, error),
            )
          else reply(true, result === undefined ? null : result)
        }
      } else {
        const subscriber = `${origin}/${msg.cid}`
        if (msg.kind === 'listen') this.listen(msg.channel, subscriber, deliver, msg.cid)
        else this.unlisten(msg.channel, subscriber)
        reply(true, null)
      }
    } catch (error) {
      reply(false, error)
    }
  }

  /**
   * Runs one request; with a checkpoint, what it changed among the keys the checkpoint keeps at
   * once is written in one transaction, issued before anything later (see checkpoint/mirror.ts).
   * The step's declared durability (step-registry.ts) says whether that write happens and whether
   * the answer waits for it (`durable`).
   */
  private run(op: unknown, args: unknown[]): {result: unknown; durable?: Promise<void>} {
    const checkpoint = this.checkpoint
    const durability: StepDurability = registeredStep(op)?.durability ?? 'before-reply'
    if (!checkpoint || durability === 'write-behind') return {result: runStoreOp(this.store, op, args)}
    this.store.trackChanges(`${checkpoint.prefix}:`)
    let result: unknown
    let failure: {error: unknown} | undefined
    try {
      result = runStoreOp(this.store, op, args)
    } catch (error) {
      failure = {error}
    }
    const changed = this.store.takeChanges()
    const writes = changed && changed.size > 0 ? mirrorWritesOf(this.store, checkpoint.prefix, changed) : []
    const written = writes.length > 0 ? checkpoint.file.apply(writes) : undefined
    if (failure) {
      // What a failed step wrote is in the file too; its answer is the error, whatever the write does.
      written?.catch(() => {})
      throw failure.error
    }
    if (!written) return {result}
    // A failure marks the file unhealthy: claims wait for the next full checkpoint.
    if (durability === 'mirrored') {
      written.catch(() => {})
      return {result}
    }
    return {result, durable: written}
  }

  publish(channel: string, message: Json): number {
    const subscribers = this.channels.get(channel)
    if (!subscribers) return 0
    for (const deliver of subscribers.values()) deliver({wbc: 1, kind: 'msg', cid: '', channel, message})
    return subscribers.size
  }

  /**
   * Takes ownership of the checkpoint (CheckpointInUse while another process has it), recovers it
   * into the (empty) state, then mirrors every change of the keys it keeps at once to it (see
   * `run`) and writes it in full every `intervalMs` and on close. Call before serving anyone.
   */
  async attachCheckpoint(path: string, prefix: string, intervalMs: number, allowForeignOwner = false): Promise<{recovered: ReturnType<Checkpoint['read']>}> {
    assertOwnFile(path, 'checkpoint', allowForeignOwner)
    // lmdb loads only for a primary that keeps a checkpoint.
    const {Checkpoint} = await import('../../checkpoint/checkpoint.js')
    const file = Checkpoint.open(path)
    let recovered: ReturnType<Checkpoint['read']>
    try {
      recovered = file.read(prefix)
      await file.setAside(prefix, recovered.bad)
    } catch (error) {
      await file.close().catch(() => {})
      throw error
    }
    restoreInto(this.store, prefix, recovered)
    this.store.checkpoint = file
    const timer = setInterval(() => void this.writeCheckpoint().catch(() => {}), intervalMs)
    timer.unref()
    this.checkpoint = {file, prefix, timer}
    return {recovered}
  }

  /** Writes the whole pending state to the checkpoint now. */
  async writeCheckpoint(): Promise<void> {
    if (!this.checkpoint) return
    await this.checkpoint.file.writeAll(this.checkpoint.prefix, snapshotOf(this.store, this.checkpoint.prefix).writes)
  }

  /** The checkpoint this primary owns, if any (tests read it back to compare it with the state). */
  get checkpointFile(): Checkpoint | undefined {
    return this.checkpoint?.file
  }

  /** `wbc checkpoint`: write the checkpoint now, or export everything to a new file at `out`. */
  async checkpointNow(out?: string): Promise<{path: string; counters: number; updates: number; queues: number; inflight: number}> {
    const prefix = this.checkpoint?.prefix
    if (!prefix) {
      throw new WbcError('NO_CHECKPOINT', 'this application keeps no checkpoint', {exitCode: ExitCode.usage, hint: 'Start it with a checkpoint (the write buffer keeps one unless told not to).'})
    }
    const {writes, counts} = snapshotOf(this.store, prefix)
    if (!out) {
      await this.checkpoint!.file.writeAll(prefix, writes)
      return {path: this.checkpoint!.file.path, ...counts}
    }
    // An export is written where it is named, not through a link planted there.
    assertPlainFileOrAbsent(out, 'the export')
    assertOwnFile(out, 'checkpoint')
    const {Checkpoint} = await import('../../checkpoint/checkpoint.js')
    const file = Checkpoint.open(out)
    try {
      await file.clear(prefix)
      await file.writeAll(prefix, writes)
    } finally {
      await file.close()
    }
    return {path: out, ...counts}
  }

  private readonly outboxes = new Map<number, (msg: PrimaryMessage) => void>()

  /** A worker's answers (and published messages) go out once per event-loop turn, batched. */
  private outboxOf(worker: Worker): (msg: PrimaryMessage) => void {
    let outbox = this.outboxes.get(worker.id)
    if (!outbox) {
      outbox = batchedSender<PrimaryMessage>((msg) => {
        if (worker.isConnected()) worker.send(msg)
      })
      this.outboxes.set(worker.id, outbox)
    }
    return outbox
  }

  /** Answers cluster workers. Safe to call once per process; later calls are no-ops. */
  attachCluster(): void {
    if (this.clusterListener || !cluster.isPrimary) return
    this.clusterListener = (worker, msg) => {
      if (!isWbcMessage(msg)) return
      const deliver = this.outboxOf(worker)
      for (const one of isBatch<ClientMessage>(msg) ? msg.msgs : [msg as ClientMessage]) this.handle(one, `worker:${worker.id}`, deliver)
    }
    this.exitListener = (worker) => {
      this.outboxes.delete(worker.id)
      this.dropOrigin(`worker:${worker.id}`)
    }
    cluster.on('message', this.clusterListener)
    cluster.on('exit', this.exitListener)
  }

  /** Serves the request protocol as newline-delimited JSON on a socket only this user can open. */
  async serveSocket(path: string, allowForeignOwner = false): Promise<void> {
    // The folder is what keeps others out from the moment the socket exists (it is created with
    // the umask's mode and only narrowed by the chmod below): verified owner-only before listening.
    ensurePrivateFolder(dirname(path), 'the socket', allowForeignOwner)
    assertOwnFile(path, 'socket', allowForeignOwner)
    await removeStaleSocket(path)
    const server = createServer((socket) => this.accept(socket))
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(path, () => {
        server.off('error', reject)
        resolve()
      })
    })
    chmodSync(path, 0o600)
    server.unref()
    this.server = server
    this.socketPath = path
    this.socketInode = lstatSync(path).ino
  }

  /**
   * Stops serving and writes the last full checkpoint. `writeCheckpoint: false` when this primary
   * never served anyone (a start-up that failed): the file is left exactly as it was.
   */
  async close(options: {writeCheckpoint?: boolean} = {}): Promise<void> {
    clearInterval(this.sweeper)
    // Intake stops first: a request answered after the last checkpoint's snapshot would be
    // acknowledged and then lost. Requests cut off here get an error (their outcome unknown).
    if (this.clusterListener) cluster.off('message', this.clusterListener)
    if (this.exitListener) cluster.off('exit', this.exitListener)
    this.clusterListener = undefined
    const server = this.server
    this.server = undefined
    const closed = server ? new Promise<void>((resolve) => server.close(() => resolve())) : Promise.resolve()
    for (const socket of this.sockets) socket.destroy()
    await closed
    if (server) {
      // Only the socket this primary created: never a file that took its place.
      if (this.socketPath && isSocketAt(this.socketPath, this.socketInode)) unlinkSync(this.socketPath)
    }
    if (this.checkpoint) {
      // Last step of a shutdown: whatever is still pending (a final flush may have failed) is kept.
      clearInterval(this.checkpoint.timer)
      const {file} = this.checkpoint
      try {
        if (options.writeCheckpoint !== false) await this.writeCheckpoint()
      } finally {
        this.checkpoint = undefined
        this.store.checkpoint = undefined
        await file.close()
      }
    }
  }

  /** One socket client; past `maxConnections`, a new one is told why and closed. */
  private accept(socket: Socket): void {
    this.sockets.add(socket)
    socket.on('close', () => this.sockets.delete(socket))
    if (this.served >= this.limits.maxConnections) {
      closeWithError(socket, tooManyConnections(this.limits.maxConnections))
      return
    }
    this.served++
    const origin = `socket:${socket.remoteAddress ?? ''}:${Math.random().toString(36).slice(2)}`
    new SocketConnection(socket, this.limits, {
      handle: (msg, deliver) => this.handle(msg, origin, deliver),
      isSubscribed: () => this.isSubscribed(origin),
    })
    socket.on('close', () => {
      this.served--
      this.dropOrigin(origin)
    })
  }

  private listen(channel: string, subscriber: string, deliver: Deliver, cid: string): void {
    let subscribers = this.channels.get(channel)
    if (!subscribers) {
      subscribers = new Map()
      this.channels.set(channel, subscribers)
    }
    subscribers.set(subscriber, (message) => deliver({...message, cid}))
  }

  private unlisten(channel: string, subscriber: string): void {
    const subscribers = this.channels.get(channel)
    subscribers?.delete(subscriber)
    if (subscribers?.size === 0) this.channels.delete(channel)
  }

  private isSubscribed(origin: string): boolean {
    for (const subscribers of this.channels.values()) for (const subscriber of subscribers.keys()) if (subscriber.startsWith(`${origin}/`)) return true
    return false
  }

  private dropOrigin(origin: string): void {
    for (const [channel, subscribers] of this.channels) {
      for (const subscriber of subscribers.keys()) if (subscriber.startsWith(`${origin}/`)) subscribers.delete(subscriber)
      if (subscribers.size === 0) this.channels.delete(channel)
    }
  }
}

function isSocketAt(path: string, inode?: number): boolean {
  try {
    const stats = lstatSync(path)
    return stats.isSocket() && (inode === undefined || stats.ino === inode)
  } catch {
    return false // Already gone.
  }
}

/**
 * A socket file left by a crashed primary is removed; one that answers belongs to a live one.
 * Only a socket is ever removed: anything else at the path (a regular file, a folder, a symbolic
 * link — a misconfigured `ipc.socket`) is an error naming it, and stays as it is.
 */
async function removeStaleSocket(path: string): Promise<void> {
  let stats: Stats
  try {
    stats = lstatSync(path)
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return
    throw error
  }
  if (!stats.isSocket()) {
    throw new WbcError('SOCKET_PATH_TAKEN', `ipc.socket ${path} is ${kindOf(stats)}, not a socket; wbc removes only a stale socket there, so it was left as it is`, {
      exitCode: ExitCode.usage,
      hint: 'Point "ipc.socket" at a path of its own (the default is ./.wbc/wbc.sock), or move that file away if it is not needed.',
    })
  }
  const alive = await new Promise<boolean>((resolve) => {
    const probe = createConnection(path)
    probe.once('connect', () => {
      probe.destroy()
      resolve(true)
    })
    probe.once('error', () => resolve(false))
  })
  if (alive) {
    throw new WbcError('SOCKET_IN_USE', `another process already serves the wbc socket at ${path}`, {
      exitCode: ExitCode.usage,
      hint: 'Stop that application first, or give this one its own "ipc.socket" path.',
    })
  }
  try {
    unlinkSync(path)
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error
  }
}
