import type {Ipc} from '../../ipc/types.js'
import type {BufferSteps} from './contract.js'
import type {MemoryStepName} from './memory.js'
import {readBatch} from './read-batch.js'

type Call = (name: string, args: unknown[], options?: {timed?: boolean}) => Promise<unknown>

/**
 * The steps on the memory driver: one request each to the primary, which runs the function
 * registered under the step's name (memory/index.ts) with these arguments, in this order.
 */
export function memoryRequests(ipc: Ipc, call: Call): BufferSteps {
  const step = <T>(name: MemoryStepName, args: unknown[], options?: {timed?: boolean}) => call(name, args, options) as Promise<T>
  return {
    increment: (prefix, member, delta) => step('increment', [prefix, member, delta]),
    update: (prefix, member, fields) => step('update', [prefix, member, fields]),
    insert: (prefix, table, rows) => step('insert', [prefix, table, rows]),
    // A claim is answered once the checkpoint holds it: it may wait even in the primary's own process.
    claim: (prefix, request) => step('claim', [prefix, request], {timed: true}),
    quarantine: (prefix, kind, member, reason) => step('quarantine', [prefix, kind, member, reason]),
    ack: (prefix, batchId, deadMembers) => step('ack', [prefix, batchId, deadMembers]),
    readCounter: (prefix, member) => step('readCounter', [prefix, member]),
    settleAge: (prefix, table, flushStart) => step('settleAge', [prefix, table, flushStart]),
    requeue: (prefix, table, id, entry) => step('requeue', [prefix, table, id, entry]),
    compactChunk: (key, position, sha, mask) => step('compactChunk', [key, position, sha, mask]),
    cacheBase: (prefix, member, generation, base, ttlMs) => step('cacheBase', [prefix, member, generation, base, ttlMs]),
    readBatch: (prefix, batchId) => readBatch(ipc, prefix, batchId),
  }
}
