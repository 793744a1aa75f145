import {createConnection, type Socket} from 'node:net'

import {ExitCode, ServiceUnavailable, WbcError} from '../../errors.js'
import {LineSplitter} from './lines.js'
import {batchedSender, isBatch, isWbcMessage, reviveError, type ClientMessage, type PrimaryMessage} from './protocol.js'
import type {MemoryPrimary} from './primary.js'
import {assertOwnFile} from '../../ownership.js'

/** How a memory client reaches the primary. */
export interface Channel {
  readonly address: string
  /** The primary runs in this process: only requests that wait for the checkpoint can stall. */
  readonly inProcess?: boolean
  send(msg: ClientMessage): void
  onMessage(listener: (msg: PrimaryMessage) => void): void
  /** Called when the channel breaks (with the primary's reason, if it gave one); pending requests fail then. */
  onClose(listener: (reason: string, error?: WbcError) => void): void
  close(): Promise<void>
}

/** The primary's own process: requests are answered on a later tick with copies of the data. */
export class LocalChannel implements Channel {
  readonly address = 'memory (this process)'
  readonly inProcess = true
  private listener?: (msg: PrimaryMessage) => void
  private readonly origin = `local:${Math.random().toString(36).slice(2)}`
  private queue: ClientMessage[] = []
  private readonly deliver = (reply: PrimaryMessage) => this.listener?.(copyOf(reply))

  constructor(private readonly primary: MemoryPrimary) {}

  send(msg: ClientMessage): void {
    // Copying both ways keeps callers from mutating stored values through shared references.
    this.queue.push(copyOf(msg))
    // Answered on a later turn of the event loop, as a real channel would (callers in a tight loop
    // cannot starve timers and I/O); everything sent meanwhile goes in the same turn.
    if (this.queue.length === 1) setImmediate(this.drain)
  }

  private readonly drain = () => {
    const batch = this.queue
    this.queue = []
    for (const msg of batch) this.primary.handle(msg, this.origin, this.deliver)
  }

  onMessage(listener: (msg: PrimaryMessage) => void): void {
    this.listener = listener
  }

  onClose(): void {}

  async close(): Promise<void> {
    this.listener = undefined
  }
}

const isPrimitive = (value: unknown) => value === null || typeof value !== 'object'
const isFlat = (value: unknown): value is Record<string, unknown> =>
  isPrimitive(value) || (!Array.isArray(value) && Object.getPrototypeOf(value) === Object.prototype && Object.values(value as object).every(isPrimitive))

/**
 * A copy that shares nothing mutable: requests and answers made of primitives and flat objects of
 * primitives (most writes and their answers) are copied shallowly, anything else deeply.
 */
function copyOf<T extends ClientMessage | PrimaryMessage>(msg: T): T {
  if (msg.kind === 'req' && msg.args.every(isPrimitive)) return msg
  if (msg.kind === 'req' && msg.args.every(isFlat)) return {...msg, args: msg.args.map((a) => (isPrimitive(a) ? a : {...(a as object)}))}
  if (msg.kind === 'res' && msg.ok) {
    if (isFlat(msg.result)) return isPrimitive(msg.result) ? msg : {...msg, result: {...(msg.result as object)}}
    // A small answer of plain objects and arrays (an increment's reading): copied by hand, which
    // costs a fraction of structuredClone at this size.
    const copied = copyPlain(msg.result, 0)
    if (copied !== NOT_PLAIN) return {...msg, result: copied}
  }
  return structuredClone(msg)
}

const NOT_PLAIN = Symbol('not plain')

/** A copy of plain JSON (objects, arrays, primitives) up to a small depth; NOT_PLAIN for anything else. */
function copyPlain(value: unknown, depth: number): unknown {
  if (isPrimitive(value)) return value
  if (depth > 3) return NOT_PLAIN
  if (Array.isArray(value)) {
    const out: unknown[] = new Array(value.length)
    for (let i = 0; i < value.length; i++) {
      const item = copyPlain(value[i], depth + 1)
      if (item === NOT_PLAIN) return NOT_PLAIN
      out[i] = item
    }
    return out
  }
  if (Object.getPrototypeOf(value) !== Object.prototype) return NOT_PLAIN
  const out: Record<string, unknown> = {}
  for (const key of Object.keys(value as object)) {
    const item = copyPlain((value as Record<string, unknown>)[key], depth + 1)
    if (item === NOT_PLAIN) return NOT_PLAIN
    // Own data property even for a key named __proto__ (an assignment would set the prototype).
    if (key === '__proto__') Object.defineProperty(out, key, {value: item, enumerable: true, writable: true, configurable: true})
    else out[key] = item
  }
  return out
}

/** A cluster worker talking to its primary over the cluster IPC channel. */
export class ClusterChannel implements Channel {
  readonly address = 'memory (cluster primary)'
  private readonly messageListener: (msg: unknown) => void
  private listener?: (msg: PrimaryMessage) => void
  private closeListener?: (reason: string) => void
  private readonly disconnectListener = () => this.closeListener?.('the cluster IPC channel closed')

  constructor() {
    if (typeof process.send !== 'function') {
      throw new WbcError('NOT_A_WORKER', 'this process has no IPC channel to a cluster primary', {
        exitCode: ExitCode.usage,
        hint: 'Run it as a node:cluster worker, or connect over the socket.',
      })
    }
    this.messageListener = (msg) => {
      if (!isWbcMessage(msg)) return
      if (isBatch<PrimaryMessage>(msg)) for (const one of msg.msgs) this.listener?.(one)
      else this.listener?.(msg as PrimaryMessage)
    }
    process.on('message', this.messageListener)
    process.on('disconnect', this.disconnectListener)
  }

  private readonly post = batchedSender<ClientMessage>((msg) => {
    // A channel that closed in between fails the requests through the disconnect listener.
    if (process.connected) process.send!(msg)
  })

  send(msg: ClientMessage): void {
    if (!process.connected) throw new ServiceUnavailable('the cluster primary', this.address, 'the IPC channel is closed')
    this.post(msg)
  }

  onMessage(listener: (msg: PrimaryMessage) => void): void {
    this.listener = listener
  }

  onClose(listener: (reason: string) => void): void {
    this.closeListener = listener
  }

  async close(): Promise<void> {
    process.off('message', this.messageListener)
    process.off('disconnect', this.disconnectListener)
  }
}

/** A separate process (`wbc`, a script) talking to a running application's primary over its socket. */
export class SocketChannel implements Channel {
  private listener?: (msg: PrimaryMessage) => void
  private closeListener?: (reason: string, error?: WbcError) => void
  /** Requests written and not answered yet, by `cid id`: resent after an idle close (never read there). */
  private readonly unanswered = new Map<string, ClientMessage>()
  /** Channels listened on, by `cid channel`. */
  private readonly listening = new Set<string>()
  /** Why the primary closed the connection, from its last line. */
  private closedBy?: WbcError
  /** The primary closed an idle connection: the next request opens a new one. */
  private idle = false
  private closed = false

  private constructor(
    private socket: Socket,
    readonly address: string,
    private readonly path: string,
    private readonly maxRequestBytes: number,
  ) {
    this.attach(socket)
  }

  static async connect(path: string, timeoutMs: number, allowForeignOwner = false, maxRequestBytes = Number.POSITIVE_INFINITY): Promise<SocketChannel> {
    assertOwnFile(path, 'socket', allowForeignOwner)
    const address = `unix:${path}`
    const socket = createConnection(path)
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        socket.destroy()
        reject(new ServiceUnavailable('the wbc socket', address, `no connection within ${timeoutMs} ms`))
      }, timeoutMs)
      socket.once('connect', () => {
        clearTimeout(timer)
        resolve()
      })
      socket.once('error', (error: NodeJS.ErrnoException) => {
        clearTimeout(timer)
        reject(
          new ServiceUnavailable('the wbc socket', address, connectFailure(error), {
            hint: 'Start the application that uses the memory driver (it serves this socket), or point "ipc.socket" at the one it serves.',
            cause: error,
          }),
        )
      })
    })
    return new SocketChannel(socket, address, path, maxRequestBytes)
  }

  private attach(socket: Socket): void {
    const lines = new LineSplitter()
    let failure: string | undefined
    socket.on('data', (chunk: Buffer) => {
      for (const line of lines.push(chunk).lines) if (line.length > 0) this.receive(JSON.parse(line.toString('utf8')) as PrimaryMessage)
    })
    socket.on('error', (error: NodeJS.ErrnoException) => {
      failure = connectFailure(error)
    })
    socket.on('close', () => {
      if (socket !== this.socket || this.closed) return
      // A listener's subscriptions would not survive a new connection: it fails like any close.
      if (this.closedBy?.code === 'IDLE_TIMEOUT' && this.listening.size === 0) {
        // Every request still unanswered reached the primary after it stopped reading: none ran.
        this.idle = true
        if (this.unanswered.size > 0) this.reopen()
        return
      }
      this.closeListener?.(this.closedBy?.message ?? failure ?? 'the socket closed', this.closedBy)
    })
  }

  private receive(msg: PrimaryMessage): void {
    if (msg.kind === 'closing') {
      this.closedBy = reviveError(msg.error)
      return
    }
    if (msg.kind === 'res') this.unanswered.delete(`${msg.cid} ${msg.id}`)
    this.listener?.(msg)
  }

  /** A new connection after an idle close, with every request the old one left unanswered. */
  private reopen(): void {
    this.idle = false
    this.closedBy = undefined
    this.socket = createConnection(this.path)
    this.attach(this.socket)
    for (const msg of this.unanswered.values()) this.socket.write(`${JSON.stringify(msg)}\n`)
  }

  send(msg: ClientMessage): void {
    const line = `${JSON.stringify(msg)}\n`
    if (line.length * 3 > this.maxRequestBytes && Buffer.byteLength(line) - 1 > this.maxRequestBytes) {
      // Refused here, so the connection (and every other request on it) is kept.
      throw new WbcError('REQUEST_TOO_LARGE', `this request is ${Buffer.byteLength(line) - 1} bytes; the limit is ${this.maxRequestBytes} (ipc.maxRequestBytes)`, {
        exitCode: ExitCode.usage,
        hint: 'Split the call (fewer rows per insert), or raise "ipc.maxRequestBytes" in the application\'s configuration.',
      })
    }
    if (this.idle) this.reopen()
    if (this.socket.destroyed) throw this.closedBy ?? new ServiceUnavailable('the wbc socket', this.address, 'the connection is closed')
    this.unanswered.set(`${msg.cid} ${msg.id}`, msg)
    if (msg.kind === 'listen') this.listening.add(`${msg.cid} ${msg.channel}`)
    else if (msg.kind === 'unlisten') this.listening.delete(`${msg.cid} ${msg.channel}`)
    this.socket.write(line)
  }

  onMessage(listener: (msg: PrimaryMessage) => void): void {
    this.listener = listener
  }

  onClose(listener: (reason: string, error?: WbcError) => void): void {
    this.closeListener = listener
  }

  async close(): Promise<void> {
    this.closed = true
    this.listener = undefined
    this.closeListener = undefined
    await new Promise<void>((resolve) => {
      if (this.socket.destroyed) return resolve()
      this.socket.end(() => resolve())
      setTimeout(() => {
        this.socket.destroy()
        resolve()
      }, 200).unref()
    })
  }
}

function connectFailure(error: NodeJS.ErrnoException): string {
  if (error.code === 'ENOENT') return 'no socket file there'
  if (error.code === 'ECONNREFUSED') return 'nothing is listening (a stale socket file)'
  if (error.code === 'EACCES') return 'permission denied'
  return error.message
}
