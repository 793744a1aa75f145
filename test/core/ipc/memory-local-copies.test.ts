import {describe, expect, it} from 'vitest'

import {stepsFor} from '../../../src/core/buffer/steps/index.js'
import {IpcClient} from '../../../src/core/ipc/client.js'
import {LocalChannel} from '../../../src/core/ipc/memory/channels.js'
import {MemoryDriver} from '../../../src/core/ipc/memory/driver.js'
import {MemoryPrimary} from '../../../src/core/ipc/memory/primary.js'

// In one process the primary and its clients share a heap: what a caller does to a request or an
// answer after the call must not reach the stored state.
describe('memory, in-process: requests and answers are copies', () => {
  const open = () => {
    const primary = new MemoryPrimary()
    return {ipc: new IpcClient(new MemoryDriver(new LocalChannel(primary), 2000)), primary}
  }

  it('a nested answer (an increment with its reading) is a copy: changing it changes nothing stored', async () => {
    const {ipc, primary} = open()
    try {
      const member = 'default:posts:1:views'
      await stepsFor(ipc).increment('cp', member, 2)
      await stepsFor(ipc).claim('cp', {batchId: 'b1', table: 'default:posts', createdAt: 1, counters: [member], updates: [], maxInserts: 0})
      const answer = await stepsFor(ipc).increment('cp', member, 3)
      expect(answer).toEqual({live: 3, base: null, inflight: 2, reading: {live: 3, base: null, inflight: {b1: 2}, generation: expect.any(String)}})
      answer.reading!.inflight.b1 = 1000
      ;(answer.reading!.inflight as Record<string, number>).__proto__ = 7
      expect(await stepsFor(ipc).readCounter('cp', member)).toEqual({live: 3, base: null, inflight: {b1: 2}, generation: answer.reading!.generation})
      expect(await ipc.hgetall('cp:ifd:b1')).toEqual({[member]: 2})
    } finally {
      await ipc.close()
      await primary.close()
    }
  })

  it('a stored hash read back and changed by the caller stays as stored, a field named __proto__ included', async () => {
    const {ipc, primary} = open()
    try {
      const fields = JSON.parse('{"a": {"deep": [1, 2]}, "__proto__": {"x": 1}}') as Record<string, never>
      await ipc.hset('cp:h', fields)
      const read = (await ipc.hgetall('cp:h')) as Record<string, {deep: number[]}>
      expect(Object.keys(read).sort()).toEqual(['__proto__', 'a'])
      read.a.deep.push(3)
      expect(await ipc.hgetall('cp:h')).toEqual(JSON.parse('{"a": {"deep": [1, 2]}, "__proto__": {"x": 1}}'))
    } finally {
      await ipc.close()
      await primary.close()
    }
  })
})
