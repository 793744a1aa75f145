import * as errors from '../../errors.js'
import {WbcError} from '../../errors.js'
import type {Json} from '../types.js'
import {registeredStep} from './step-registry.js'
import type {MemoryStore} from './store.js'

/** The store methods a client may call; anything else is refused. */
export const STORE_OPS = [
  'set',
  'get',
  'del',
  'incrBy',
  'hset',
  'hdel',
  'hlen',
  'type',
  'hgetall',
  'rpush',
  'lrange',
  'llen',
  'ltrim',
  'lrangeAndDel',
  'sadd',
  'smembers',
  'srem',
  'scard',
  'scan',
  'sscan',
  'lock',
  'renew',
  'unlock',
  'inspectLock',
] as const
export type StoreOp = (typeof STORE_OPS)[number]
export const isStoreOp = (op: unknown): op is StoreOp => (STORE_OPS as readonly unknown[]).includes(op)

/**
 * Messages between a client (cluster worker, socket peer, or the primary's own process) and the
 * primary. `cid` names the client so that several clients in one worker each get their answers.
 */
export type ClientMessage =
  {wbc: 1; kind: 'req'; cid: string; id: number; op: StoreOp | 'publish' | 'checkpoint' | string; args: unknown[]} | {wbc: 1; kind: 'listen' | 'unlisten'; cid: string; id: number; channel: string}

export type PrimaryMessage =
  | {wbc: 1; kind: 'res'; cid: string; id: number; ok: true; result: unknown}
  | {wbc: 1; kind: 'res'; cid: string; id: number; ok: false; error: SerializedError}
  | {wbc: 1; kind: 'msg'; cid: string; channel: string; message: Json}
  /**
   * The last line of a socket connection the primary closes (a request too large, too many
   * connections, idle): why. After an `IDLE_TIMEOUT` no request left unanswered was read.
   */
  | {wbc: 1; kind: 'closing'; error: SerializedError}

/** Several messages in one cluster IPC message: everything one side sent during one event-loop turn. */
export interface MessageBatch<M> {
  wbc: 1
  kind: 'batch'
  msgs: M[]
}

export const isBatch = <M>(msg: {kind: string}): msg is MessageBatch<M> => msg.kind === 'batch'

/**
 * Queues messages and hands them to `send` once per event-loop turn, one at a time as they are
 * or several as one batch (each cluster IPC message costs a serialisation and a system call).
 */
export function batchedSender<M>(send: (msg: M | MessageBatch<M>) => void): (msg: M) => void {
  let queue: M[] = []
  const flush = () => {
    const msgs = queue
    queue = []
    send(msgs.length === 1 ? msgs[0] : {wbc: 1, kind: 'batch', msgs})
  }
  return (msg) => {
    queue.push(msg)
    if (queue.length === 1) setImmediate(flush)
  }
}

export interface SerializedError {
  name: string
  code: string
  message: string
  hint?: string
  exitCode: number
  fields?: Record<string, unknown>
}

export const isWbcMessage = (msg: unknown): msg is {wbc: 1; kind: string} => Boolean(msg) && typeof msg === 'object' && (msg as {wbc?: unknown}).wbc === 1

/** Runs a store method or a registered step (see step-registry.ts). */
export function runStoreOp(store: MemoryStore, op: unknown, args: unknown[]): unknown {
  const step = registeredStep(op)
  if (step) return step.run(store, ...args)
  if (!isStoreOp(op)) throw new WbcError('UNKNOWN_OPERATION', `unknown operation "${String(op)}"`, {exitCode: errors.ExitCode.usage})
  return (store[op] as (...a: unknown[]) => unknown).apply(store, args)
}

export function serializeError(error: unknown): SerializedError {
  if (error instanceof WbcError) {
    const {name, code, message, hint, exitCode, stack: _stack, cause: _cause, ...fields} = error as WbcError & Record<string, unknown>
    return {name, code, message, hint, exitCode, fields}
  }
  const e = error instanceof Error ? error : new Error(String(error))
  return {name: 'WbcError', code: 'INTERNAL', message: e.message, exitCode: errors.ExitCode.unexpected}
}

const ERROR_CLASSES: Record<string, unknown> = errors

/** Rebuilds the error on the client's side as the same class, so `instanceof` works everywhere. */
export function reviveError(serialized: SerializedError): WbcError {
  const Class = ERROR_CLASSES[serialized.name]
  const proto = typeof Class === 'function' && Class.prototype instanceof WbcError ? Class.prototype : WbcError.prototype
  const error = Object.create(proto) as WbcError
  Error.captureStackTrace?.(error, reviveError)
  Object.assign(error, serialized.fields ?? {}, {
    name: serialized.name,
    code: serialized.code,
    message: serialized.message,
    hint: serialized.hint,
    exitCode: serialized.exitCode,
  })
  return error
}
