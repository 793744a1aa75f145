/**
 * Test-only bridge: exposes an Ipc living in another process (a cluster worker) over a unix
 * socket with v8 serialisation, so the same contract suite can drive it. v8 serialisation keeps
 * NaN, undefined, Dates and cycles intact, so bad-input cases reach the worker's validation as-is.
 */
import {createConnection, createServer, type Server, type Socket} from 'node:net'
import {deserialize, serialize} from 'node:v8'

import {reviveError, serializeError} from '../../src/core/ipc/memory/protocol.js'
import type {Ipc, MessageHandler} from '../../src/core/ipc/types.js'

type Frame = Record<string, unknown>

function framed(socket: Socket, onFrame: (frame: Frame) => void): (frame: Frame) => void {
  let buffer = Buffer.alloc(0)
  socket.on('data', (chunk: Buffer) => {
    buffer = Buffer.concat([buffer, chunk])
    while (buffer.length >= 4) {
      const size = buffer.readUInt32BE(0)
      if (buffer.length < 4 + size) break
      onFrame(deserialize(buffer.subarray(4, 4 + size)) as Frame)
      buffer = buffer.subarray(4 + size)
    }
  })
  return (frame) => {
    const body = serialize(frame)
    const head = Buffer.alloc(4)
    head.writeUInt32BE(body.length)
    socket.write(Buffer.concat([head, body]))
  }
}

export function serveIpc(ipc: Ipc, path: string): Promise<Server> {
  const server = createServer((socket) => {
    // `answer` never rejects: every failure goes back to the caller as a reply.
    const send = framed(socket, (frame) => void answer(frame))
    const answer = async (frame: Frame) => {
      const {id, method, args} = frame as {id: number; method: string; args: unknown[]}
      try {
        let result: unknown
        if (method === 'subscribe') {
          const [channel] = args as [string]
          result = await ipc.subscribe(channel, (message) => send({event: 'msg', channel, message}))
        } else if (method === 'stepHost.call' && ipc.stepHost.driver === 'memory') {
          // The worker's own client runs the step (through its primary), as its write buffer would.
          const [name, stepArgs, options] = args as [string, unknown[], {timed?: boolean} | undefined]
          result = await ipc.stepHost.call(name, stepArgs, options)
        } else {
          result = await (ipc as unknown as Record<string, (...a: unknown[]) => Promise<unknown>>)[method](...args)
        }
        send({id, ok: true, result})
      } catch (error) {
        send({id, ok: false, error: serializeError(error)})
      }
    }
  })
  return new Promise((resolve) => server.listen(path, () => resolve(server)))
}

export async function connectIpc(path: string, driver: 'memory' | 'redis' = 'memory'): Promise<Ipc> {
  const socket = createConnection(path)
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve)
    socket.once('error', reject)
  })
  const pending = new Map<number, {resolve: (v: unknown) => void; reject: (e: unknown) => void}>()
  const handlers = new Map<string, Set<MessageHandler>>()
  let nextId = 1
  const send = framed(socket, (frame) => {
    if (frame.event === 'msg') {
      for (const handler of handlers.get(frame.channel as string) ?? []) handler(frame.message as never, frame.channel as string)
      return
    }
    const entry = pending.get(frame.id as number)
    pending.delete(frame.id as number)
    if (frame.ok) entry?.resolve(frame.result)
    else entry?.reject(reviveError(frame.error as never))
  })
  const call = (method: string, args: unknown[]) =>
    new Promise((resolve, reject) => {
      const id = nextId++
      pending.set(id, {resolve, reject})
      send({id, method, args})
    })
  return new Proxy({} as Ipc, {
    get(_target, prop: string) {
      if (prop === 'driver') return driver
      if (prop === 'address') return `rpc:${path}`
      if (prop === 'then') return undefined
      // The buffer's steps (stepsFor) run on the far side's Ipc, one request each, as there.
      if (prop === 'stepHost') return {driver: 'memory', call: (name: string, args: unknown[], options?: {timed?: boolean}) => call('stepHost.call', [name, args, options])}
      if (prop === 'subscribe') {
        return async (channel: string, handler: MessageHandler) => {
          if (!handlers.has(channel)) {
            handlers.set(channel, new Set())
            await call('subscribe', [channel])
          }
          handlers.get(channel)!.add(handler)
        }
      }
      if (prop === 'unsubscribe') {
        return async (channel: string) => {
          handlers.delete(channel)
          await call('unsubscribe', [channel])
        }
      }
      if (prop === 'close') {
        // The worker's Ipc closes with its process; here only the bridge goes.
        return async () => {
          socket.destroy()
        }
      }
      return (...args: unknown[]) => call(prop, args)
    },
  })
}
