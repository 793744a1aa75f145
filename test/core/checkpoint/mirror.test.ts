import {mkdtempSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {afterEach, describe, expect, it} from 'vitest'

import {IpcClient} from '../../../src/core/ipc/client.js'
import {restoreInto} from '../../../src/core/checkpoint/state.js'
import {LocalChannel} from '../../../src/core/ipc/memory/channels.js'
import {MemoryDriver} from '../../../src/core/ipc/memory/driver.js'
import {MemoryPrimary} from '../../../src/core/ipc/memory/primary.js'
import {MemoryStore} from '../../../src/core/ipc/memory/store.js'
import {chunkSha} from '../../../src/core/streams/chunk.js'
import type {Json} from '../../../src/core/ipc/types.js'
import {uniquePrefix} from '../../support/services.js'
import {stepsFor} from '../../../src/core/buffer/steps/index.js'

/**
 * The checkpoint mirrors the state exactly: after each kind of step, a fresh state restored from
 * the file equals the live one, key by key (cached bases and the lease itself are not kept).
 */
describe('checkpoint mirror of every step', () => {
  const opened: MemoryPrimary[] = []
  afterEach(async () => {
    for (const primary of opened.splice(0)) await primary.close()
  })

  async function start() {
    const prefix = uniquePrefix()
    const path = join(mkdtempSync(join(tmpdir(), 'wbc-mirror-')), 'checkpoint.lmdb')
    const primary = new MemoryPrimary()
    opened.push(primary)
    await primary.attachCheckpoint(path, prefix, 3_600_000)
    const ipc = new IpcClient(new MemoryDriver(new LocalChannel(primary), 10_000))
    return {prefix, primary, ipc}
  }

  /**
   * Every key of the prefix with its type and content (set members sorted). Restore rebuilds the
   * indexes of pending keys from the keys, so an index member whose key is gone (a queue emptied by
   * compaction; the next claim drops it) is left out on both sides.
   */
  function dumpAll(store: MemoryStore, prefix: string): Record<string, unknown> {
    const out: Record<string, unknown> = {}
    const derived: Record<string, string> = {[`${prefix}:idx:counters`]: 'c', [`${prefix}:idx:updates`]: 'u', [`${prefix}:idx:queues`]: 'q'}
    for (const key of [...store.keysWithPrefix(`${prefix}:`)].sort()) {
      if (key.startsWith(`${prefix}:b:`) || key === `${prefix}:lock:flush`) continue
      const dumped = store.dump(key)!
      if (dumped.type !== 'set') out[key] = dumped
      else {
        const members = (dumped.value as string[]).filter((member) => !derived[key] || store.exists(`${prefix}:${derived[key]}:${member}`)).sort()
        if (members.length > 0) out[key] = {type: 'set', value: members}
      }
    }
    return out
  }

  async function expectMirrored(primary: MemoryPrimary, prefix: string, step: string): Promise<void> {
    await primary.checkpointFile!.settled()
    const fresh = new MemoryStore()
    restoreInto(fresh, prefix, primary.checkpointFile!.read(prefix))
    expect({step, state: dumpAll(fresh, prefix)}).toEqual({step, state: dumpAll(primary.store, prefix)})
  }

  it('claim, quarantine, ack, compaction, dead letters, requeue, drop and the fence are each mirrored exactly', async () => {
    const {prefix, primary, ipc} = await start()
    const posts = 'default:posts'
    const log = 'default:log'
    for (let id = 1; id <= 6; id++) await stepsFor(ipc).increment(prefix, `${posts}:${id}:views`, id * 10)
    await stepsFor(ipc).update(prefix, `${posts}:7`, {title: 'seven', score: 7.5})
    await stepsFor(ipc).insert(
      prefix,
      log,
      Array.from({length: 12}, (_, i) => ({seq: i, kind: i % 3})),
    )
    await ipc.rpush(`${prefix}:events`, {at: 1, kind: 'flush'} as Json)
    await ipc.set(`${prefix}:lastflush`, {status: 'ok', at: 2} as Json)
    await primary.writeCheckpoint()
    await expectMirrored(primary, prefix, 'full checkpoint')

    // Each step comes after a full checkpoint: only what the step itself wrote can differ.
    const step = async (name: string, run: () => Promise<unknown>) => {
      await primary.writeCheckpoint()
      await run()
      await expectMirrored(primary, prefix, name)
    }

    await step('compaction of an insert queue', async () => {
      const items = await ipc.lrange(`${prefix}:q:${log}`, 0, 5)
      expect(await stepsFor(ipc).compactChunk(`${prefix}:q:${log}`, 0, chunkSha(items), '010011')).toBe(3)
    })
    let batchId = ''
    await step('claim (with quarantine of a bad counter)', async () => {
      // Garbage the claim must quarantine: a counter that holds text (ODAC's format cannot hold it until then).
      await ipc.set(`${prefix}:c:${posts}:8:views`, 'abc' as Json)
      await ipc.sadd(`${prefix}:idx:counters`, `${posts}:8:views`)
      const result = await stepsFor(ipc).claim(prefix, {
        batchId: 'b1',
        table: posts,
        createdAt: 1,
        counters: [1, 2, 3, 8].map((id) => `${posts}:${id}:views`),
        updates: [`${posts}:7`],
        maxInserts: 0,
      })
      expect(result.quarantined.map((q) => q.key)).toEqual([`c:${posts}:8:views`])
      batchId = result.batch!.id
    })
    await step('claim of queued rows after compaction', async () => {
      const result = await stepsFor(ipc).claim(prefix, {batchId: 'b2', table: log, createdAt: 2, counters: [], updates: [], maxInserts: 4})
      expect(result.batch!.inserts).toEqual([
        {seq: 1, kind: 1},
        {seq: 4, kind: 1},
        {seq: 5, kind: 2},
        {seq: 6, kind: 0},
      ])
    })
    await step('dead letter written', async () => {
      await ipc.sadd(`${prefix}:idx:deadletters`, posts)
      await ipc.hset(`${prefix}:dl:${posts}`, {
        'b1:0': {id: 'b1:0', kind: 'counter', entry: {where: '2', deltas: {views: 20}}} as Json,
        'b1:1': {id: 'b1:1', kind: 'update', entry: {where: '7', fields: {title: 'seven'}}} as Json,
      })
    })
    await step('ack with a dead-lettered member', () => stepsFor(ipc).ack(prefix, batchId, [`${posts}:2:views`]))
    await step('ack of the queued rows', () => stepsFor(ipc).ack(prefix, 'b2', []))
    await step('quarantine of an update key', async () => {
      await stepsFor(ipc).update(prefix, `${posts}:9`, {title: 'nine'})
      await primary.writeCheckpoint()
      await stepsFor(ipc).quarantine(prefix, 'u', `${posts}:9`, 'test')
    })
    await step('requeue of a counter dead letter', () => stepsFor(ipc).requeue(prefix, posts, 'b1:0', {kind: 'counter', deltas: [[`${posts}:2:views`, 20]]}))
    await step('requeue of an insert dead letter', async () => {
      await ipc.hset(`${prefix}:dl:${log}`, {'b2:0': {id: 'b2:0'} as Json})
      await primary.writeCheckpoint()
      await stepsFor(ipc).requeue(prefix, log, 'b2:0', {kind: 'insert', row: {seq: 99, kind: 9}})
    })
    await step('dead letter dropped', () => ipc.hdel(`${prefix}:dl:${posts}`, 'b1:1'))
    await step('lease taken (fence)', () => ipc.lock(`${prefix}:lock:flush`, 30))
    await step('compaction that empties a queue', async () => {
      const items = await ipc.lrange(`${prefix}:q:${log}`, 0, -1)
      await stepsFor(ipc).compactChunk(`${prefix}:q:${log}`, 0, chunkSha(items), '0'.repeat(items.length))
    })
    expect(await ipc.get(`${prefix}:lock:flush:fence`)).toBe(1)
  })

  it('a queue row appended after the last full checkpoint survives a compaction and a claim (the file takes the live list)', async () => {
    const {prefix, primary, ipc} = await start()
    const log = 'default:log'
    await stepsFor(ipc).insert(prefix, log, [{seq: 1}, {seq: 2}, {seq: 3}])
    await primary.writeCheckpoint()
    await stepsFor(ipc).insert(prefix, log, [{seq: 4}])
    const items = await ipc.lrange(`${prefix}:q:${log}`, 0, 1)
    await stepsFor(ipc).compactChunk(`${prefix}:q:${log}`, 0, chunkSha(items), '01')
    await stepsFor(ipc).claim(prefix, {batchId: 'b1', table: log, createdAt: 1, counters: [], updates: [], maxInserts: 1})
    await primary.checkpointFile!.settled()
    const contents = primary.checkpointFile!.read(prefix)
    expect(contents.queues).toEqual([{table: log, rows: [{seq: 3}, {seq: 4}]}])
    expect(contents.inflight.map((b) => b.inserts)).toEqual([[{seq: 2}]])
  })
})
