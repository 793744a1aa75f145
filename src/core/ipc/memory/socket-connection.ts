import type {Socket} from 'node:net'

import {ExitCode, WbcError} from '../../errors.js'
import {LineSplitter} from './lines.js'
import {isWbcMessage, serializeError, type ClientMessage, type PrimaryMessage} from './protocol.js'

/** What one socket client may cost the application (`ipc.maxRequestBytes`, `maxConnections`, `idleTimeout`). */
export interface SocketLimits {
  /** The longest request line a client may send, in bytes (newline excluded). */
  maxRequestBytes: number
  /** Clients connected at once; one more is told why and closed. */
  maxConnections: number
  /** A client that makes no progress for this long is closed (see `onIdle`). */
  idleTimeoutMs: number
}

export const DEFAULT_SOCKET_LIMITS: SocketLimits = {maxRequestBytes: 16 * 1024 * 1024, maxConnections: 256, idleTimeoutMs: 300_000}

/** Unread answers above which a client's next requests wait until it reads (so it cannot pile them up here). */
export const PAUSE_ABOVE_BYTES = 1024 * 1024
/** Unread published messages above which a subscriber that does not read is disconnected. */
export const DROP_SUBSCRIBER_ABOVE_BYTES = 64 * 1024 * 1024
/** How long a connection being closed may still read why before it is cut. */
const GOODBYE_MS = 2000

export interface ConnectionHost {
  /** Runs one request; `deliver` gets exactly one answer for it, now or later. */
  handle(msg: ClientMessage, deliver: (msg: PrimaryMessage) => void): void
  /** The client listens on a pub/sub channel (it waits for messages, not for answers). */
  isSubscribed(): boolean
}

/** Sends the reason as the connection's last line, then closes it; what the client still sends is dropped unread. */
export function closeWithError(socket: Socket, error: WbcError): void {
  // Nothing more is read: a client that keeps sending is held up by its own socket buffer.
  socket.pause()
  socket.removeAllListeners('data')
  socket.on('error', () => socket.destroy())
  if (!socket.writableEnded) socket.end(`${JSON.stringify({wbc: 1, kind: 'closing', error: serializeError(error)} satisfies PrimaryMessage)}\n`)
  setTimeout(() => socket.destroy(), GOODBYE_MS).unref()
}

export const tooManyConnections = (max: number) =>
  new WbcError('TOO_MANY_CONNECTIONS', `the application already serves ${max} socket clients (ipc.maxConnections)`, {
    exitCode: ExitCode.unavailable,
    hint: 'Close other wbc commands or scripts connected to this application, or raise "ipc.maxConnections".',
  })

/**
 * One socket client of the primary: newline-delimited JSON requests in, answers out. A client
 * cannot stall or bloat the application: a request line is cut off at `maxRequestBytes`, each
 * byte is scanned once, requests are not read while the client leaves more than
 * PAUSE_ABOVE_BYTES of answers unread (resumed on 'drain'), and a client idle for `idleTimeoutMs`
 * is closed.
 */
export class SocketConnection {
  private readonly lines: LineSplitter
  private queue: Buffer[] = []
  private next = 0
  /** Requests handed to the primary and not answered yet (claims and checkpoints answer later). */
  private unanswered = 0
  /** Requests wait until the client reads its answers. */
  private paused = false
  /** Reading stopped until the next turn of the event loop (see `onData`). */
  private yielding = false
  private closing = false
  private readonly idleTimer: NodeJS.Timeout

  constructor(
    private readonly socket: Socket,
    private readonly limits: SocketLimits,
    private readonly host: ConnectionHost,
  ) {
    this.lines = new LineSplitter(limits.maxRequestBytes)
    this.idleTimer = setTimeout(this.onIdle, limits.idleTimeoutMs)
    this.idleTimer.unref()
    socket.on('data', this.onData)
    socket.on('drain', this.onDrain)
    socket.on('error', () => socket.destroy())
    socket.on('close', () => {
      this.closing = true
      this.queue = []
      clearTimeout(this.idleTimer)
    })
  }

  readonly deliver = (msg: PrimaryMessage): void => {
    const socket = this.socket
    if (msg.kind === 'res') {
      this.unanswered--
      this.idleTimer.refresh()
    }
    if (socket.destroyed || socket.writableEnded) return
    if (msg.kind === 'msg' && socket.writableLength > DROP_SUBSCRIBER_ABOVE_BYTES) {
      this.close(
        new WbcError('SUBSCRIBER_TOO_SLOW', `the client left more than ${DROP_SUBSCRIBER_ABOVE_BYTES} bytes of published messages unread`, {
          exitCode: ExitCode.unavailable,
          hint: 'A subscriber must read what it is sent.',
        }),
      )
      return
    }
    socket.write(`${JSON.stringify(msg)}\n`)
    if (!this.paused && socket.writableLength > PAUSE_ABOVE_BYTES) {
      this.paused = true
      socket.pause()
    }
  }

  private readonly onData = (chunk: Buffer): void => {
    if (this.closing) return
    const {lines, tooLong} = this.lines.push(chunk)
    if (tooLong !== undefined) {
      // Nothing of this chunk runs: the client is cut off at the first line over the limit.
      this.close(
        new WbcError('REQUEST_TOO_LARGE', `a request line reached ${tooLong} bytes; the limit is ${this.limits.maxRequestBytes} (ipc.maxRequestBytes)`, {
          exitCode: ExitCode.usage,
          hint: 'Split the call (fewer rows per insert), or raise "ipc.maxRequestBytes" in the application\'s configuration.',
        }),
      )
      return
    }
    for (const line of lines) this.queue.push(line)
    this.work()
    // One chunk per turn of the event loop: a client that streams bytes (libuv reads up to 32
    // chunks in a row) cannot hold up the application's own work between two of them.
    if (!this.paused && !this.closing) {
      this.socket.pause()
      this.yielding = true
      setImmediate(this.afterYield)
    }
  }

  private readonly afterYield = (): void => {
    this.yielding = false
    if (!this.paused && !this.closing) this.socket.resume()
  }

  /** Runs queued requests until none is left or the client has too much left unread. */
  private work(): void {
    while (this.next < this.queue.length && !this.paused && !this.closing) this.request(this.queue[this.next++])
    if (this.next >= this.queue.length) {
      this.queue = []
      this.next = 0
    }
  }

  private request(line: Buffer): void {
    if (line.length === 0) return
    this.idleTimer.refresh()
    let msg: unknown
    try {
      msg = JSON.parse(line.toString('utf8'))
    } catch {
      this.close(new WbcError('BAD_REQUEST', 'a request line is not JSON', {exitCode: ExitCode.usage}))
      return
    }
    if (!isWbcMessage(msg)) return
    this.unanswered++
    this.host.handle(msg as ClientMessage, this.deliver)
  }

  private readonly onDrain = (): void => {
    this.idleTimer.refresh()
    if (!this.paused || this.closing) return
    this.paused = false
    this.work()
    if (!this.paused && !this.closing && !this.yielding) this.socket.resume()
  }

  /**
   * A client that waits for an answer or listens on a channel is not idle; one that sends no
   * request and reads nothing for `idleTimeoutMs` is (a subscriber that stops reading included).
   * The project's own socket client reconnects on its next request after an idle close.
   */
  private readonly onIdle = (): void => {
    if (this.closing) return
    if (!this.paused && (this.unanswered > 0 || this.host.isSubscribed())) {
      this.idleTimer.refresh()
      return
    }
    this.close(
      new WbcError('IDLE_TIMEOUT', `no request for ${this.limits.idleTimeoutMs} ms (ipc.idleTimeout): the connection is closed`, {
        exitCode: ExitCode.unavailable,
        hint: 'Connect again to send more requests.',
      }),
    )
  }

  private close(error: WbcError): void {
    this.closing = true
    this.queue = []
    clearTimeout(this.idleTimer)
    closeWithError(this.socket, error)
  }
}
