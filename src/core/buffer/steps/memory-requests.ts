import {CorruptValue} from '../../errors.js'
import type {Ipc} from '../../ipc/types.js'
import {reviveError, type SerializedError} from '../../ipc/memory/protocol.js'
import type {BufferSteps} from './contract.js'
import {incrementAnswer, IncrementBatcher, type QueuedIncrement} from './increment-batch.js'
import type {MemoryStepName} from './memory.js'
import {readBatch} from './read-batch.js'

type Call = (name: string, args: unknown[], options?: {timed?: boolean}) => Promise<unknown>

/**
 * The steps on the memory driver: one request each to the primary, which runs the function
 * registered under the step's name (memory.ts) with these arguments, in this order. The
 * increments issued together (in one run of microtasks: concurrent callers resumed by one answer)
 * travel as one request, as on redis; each is still its own step.
 */
export function memoryRequests(ipc: Ipc, call: Call): BufferSteps {
  const step = <T>(name: MemoryStepName, args: unknown[], options?: {timed?: boolean}) => call(name, args, options) as Promise<T>

  const send = async (prefix: string, batch: QueuedIncrement[]): Promise<void> => {
    const args: unknown[] = [prefix]
    for (const item of batch) args.push(item.member, item.delta)
    const answer = await step<unknown[]>('increment', args)
    if (!Array.isArray(answer) || answer.length !== 4 * batch.length) throw new CorruptValue("the memory primary's answer to increment", 'it is not four items per increment')
    for (let i = 0; i < batch.length; i++) {
      const live = answer[4 * i]
      if (typeof live === 'number') batch[i].resolve(incrementAnswer(live, answer[4 * i + 1] as number | null, answer[4 * i + 2] as number, answer[4 * i + 3] as string[] | null))
      else if (live !== null && typeof live === 'object') batch[i].reject(reviveError(live as SerializedError))
      // A total that is not a number travels as null (JSON has no Infinity): this increment alone fails.
      else batch[i].reject(new CorruptValue("the memory primary's answer to increment", `its total ${String(live)} is not a number`))
    }
  }
  // At most 512 per request (far below a socket's request size limit), sent once the microtasks
  // have run: the primary answers on a later turn anyway.
  const increments = new IncrementBatcher(send, {maxBatch: 512, schedule: queueMicrotask})

  return {
    increment: (prefix, member, delta) => increments.add(prefix, member, delta),
    update: (prefix, member, fields) => step('update', [prefix, member, fields]),
    insert: (prefix, table, rows) => step('insert', [prefix, table, rows]),
    // A claim is answered once the checkpoint holds it: it may wait even in the primary's own process.
    claim: (prefix, request) => step('claim', [prefix, request], {timed: true}),
    setAsideRows: (prefix, batchId, table, rows) => step('setAsideRows', [prefix, batchId, table, rows]),
    quarantine: (prefix, kind, member, reason) => step('quarantine', [prefix, kind, member, reason]),
    ack: (prefix, batchId, deadMembers) => step('ack', [prefix, batchId, deadMembers]),
    readCounter: (prefix, member) => step('readCounter', [prefix, member]),
    settleAge: (prefix, table, flushStart) => step('settleAge', [prefix, table, flushStart]),
    requeue: (prefix, table, id, entry) => step('requeue', [prefix, table, id, entry]),
    compactChunk: (key, position, sha, mask) => step('compactChunk', [key, position, sha, mask]),
    cacheBase: (prefix, member, generation, base, ttlMs) => step('cacheBase', [prefix, member, generation, base, ttlMs]),
    readBatch: (prefix, batchId, check) => readBatch(ipc, prefix, batchId, check),
  }
}
