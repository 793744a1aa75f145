import {createConnection, type Socket} from 'node:net'

import {ServiceUnavailable, WbcError} from '../../errors.js'
import {batchedSender, isBatch, isWbcMessage, type ClientMessage, type PrimaryMessage} from './protocol.js'
import type {MemoryPrimary} from './primary.js'
import {assertOwnFile} from '../../ownership.js'

/** How a memory client reaches the primary. */
export interface Channel {
  readonly address: string
  /** The primary runs in this process: only requests that wait for the checkpoint can stall. */
  readonly inProcess?: boolean
  send(msg: ClientMessage): void
  onMessage(listener: (msg: PrimaryMessage) => void): void
  /** Called when the channel breaks; pending requests fail then. */
  onClose(listener: (reason: string) => void): void
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
  if (msg.kind === 'res' && msg.ok && isFlat(msg.result)) return isPrimitive(msg.result) ? msg : {...msg, result: {...(msg.result as object)}}
  return structuredClone(msg)
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
        exitCode: 2,
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
  private closeListener?: (reason: string) => void
  private buffered = ''

  private constructor(
    private readonly socket: Socket,
    readonly address: string,
  ) {
    socket.setEncoding('utf8')
    socket.on('data', (chunk: string) => {
      this.buffered += chunk
      let newline: number
      while ((newline = this.buffered.indexOf('\n')) >= 0) {
        const line = this.buffered.slice(0, newline)
        this.buffered = this.buffered.slice(newline + 1)
        if (line) this.listener?.(JSON.parse(line) as PrimaryMessage)
      }
    })
    socket.on('close', () => this.closeListener?.('the socket closed'))
    socket.on('error', () => {})
  }

  static async connect(path: string, timeoutMs: number, allowForeignOwner = false): Promise<SocketChannel> {
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
        const reason =
          error.code === 'ENOENT' ? 'no socket file there' : error.code === 'ECONNREFUSED' ? 'nothing is listening (a stale socket file)' : error.code === 'EACCES' ? 'permission denied' : error.message
        reject(
          new ServiceUnavailable('the wbc socket', address, reason, {
            hint: 'Start the application that uses the memory driver (it serves this socket), or point "ipc.socket" at the one it serves.',
            cause: error,
          }),
        )
      })
    })
    return new SocketChannel(socket, address)
  }

  send(msg: ClientMessage): void {
    if (this.socket.destroyed) throw new ServiceUnavailable('the wbc socket', this.address, 'the connection is closed')
    this.socket.write(`${JSON.stringify(msg)}\n`)
  }

  onMessage(listener: (msg: PrimaryMessage) => void): void {
    this.listener = listener
  }

  onClose(listener: (reason: string) => void): void {
    this.closeListener = listener
  }

  async close(): Promise<void> {
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
