import type {Ipc} from '../../ipc/types.js'
import type {BufferSteps} from './contract.js'
import {memoryRequests} from './memory-requests.js'
// Registers the memory twins with this process's memory primary (whichever process imports the buffer layer).
import './memory.js'
import {redisSteps} from './redis.js'

export type * from './contract.js'
export {badRowsOf, decodeBatch, decodeBatchShape, batchProblem} from './batch-format.js'

const known = new WeakMap<Ipc, BufferSteps>()

/** The write buffer's atomic steps on this Ipc's store (made once per Ipc). */
export function stepsFor(ipc: Ipc): BufferSteps {
  let steps = known.get(ipc)
  if (!steps) {
    const host = ipc.stepHost
    steps = host.driver === 'redis' ? redisSteps(ipc, host.scripts) : memoryRequests(ipc, (name, args, options) => host.call(name, args, options))
    known.set(ipc, steps)
  }
  return steps
}
