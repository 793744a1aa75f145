import {mkdtempSync, readFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {parseConfig} from '../../../src/core/config/load.js'
import {IpcClient} from '../../../src/core/ipc/client.js'
import {createIpc} from '../../../src/core/ipc/create.js'
import {LocalChannel} from '../../../src/core/ipc/memory/channels.js'
import {MemoryDriver} from '../../../src/core/ipc/memory/driver.js'
import {MemoryPrimary} from '../../../src/core/ipc/memory/primary.js'
import type {Ipc, Json} from '../../../src/core/ipc/types.js'
import {chunkSha} from '../../../src/core/streams/chunk.js'
import {compactStream} from '../../../src/core/streams/compact.js'
import {listStreams, tailStream} from '../../../src/core/streams/streams.js'
import {cleanRedisPrefix, driversUp} from '../../support/engine.js'
import {uniquePrefix, urls} from '../../support/services.js'
import {stepsFor} from '../../../src/core/buffer/steps/index.js'

async function push(ipc: Ipc, key: string, count: number, make: (i: number) => Json, from = 0): Promise<void> {
  for (let i = from; i < from + count; i += 1000) {
    await ipc.rpush(key, ...Array.from({length: Math.min(1000, from + count - i)}, (_, j) => make(i + j)))
  }
}

describe.each(['memory', 'redis'] as const)('stream compaction on %s', (driver) => {
  const up = driversUp[driver]
  const prefix = uniquePrefix()
  let ipc: Ipc
  let primary: MemoryPrimary | undefined

  beforeAll(async () => {
    if (!up) return
    if (driver === 'redis') ipc = await createIpc(parseConfig({ipc: {driver: 'redis', redis: urls.redis}}).ipc)
    else {
      primary = new MemoryPrimary()
      ipc = new IpcClient(new MemoryDriver(new LocalChannel(primary), 10_000))
    }
  })
  afterAll(async () => {
    if (!up) return
    if (driver === 'redis') await cleanRedisPrefix(prefix)
    await ipc.close()
    await primary?.close()
  })

  it.skipIf(!up)('keep-key on 100,000 entries with 1,000 keys leaves exactly the 1,000 newest, in order', async () => {
    const key = `${prefix}:keyed`
    await push(ipc, key, 100_000, (i) => ({k: i % 1000, seq: i}))
    const result = await compactStream(ipc, key, {keepKey: 'k', timeField: 'at'})
    expect(result).toMatchObject({examined: 100_000, removed: 99_000, kept: 1000})
    const left = await ipc.lrange<{k: number; seq: number}>(key, 0, -1)
    expect(left.map((e) => e.seq)).toEqual(Array.from({length: 1000}, (_, i) => 99_000 + i))
  })

  it.skipIf(!up)('entries appended while compaction runs are never lost; counts are exact', async () => {
    const key = `${prefix}:busy`
    await push(ipc, key, 20_000, (i) => ({seq: i}))
    // The appender runs in small steps, so most of its entries arrive after compaction started.
    const appending = (async () => {
      for (let i = 20_000; i < 25_000; i += 100) await ipc.rpush(key, ...Array.from({length: 100}, (_, j) => ({seq: i + j})))
    })()
    const result = await compactStream(ipc, key, {maxCount: 10, timeField: 'at'})
    await appending
    expect(result.examined).toBeLessThan(25_000)
    const left = (await ipc.lrange<{seq: number}>(key, 0, -1)).map((e) => e.seq)
    // Of the entries present at the start, the newest 10 stay; everything appended after is there, once, in order.
    const expected = [...Array.from({length: 10}, (_, i) => result.examined - 10 + i), ...Array.from({length: 25_000 - result.examined}, (_, i) => result.examined + i)]
    expect(left).toEqual(expected)
    expect(result.removed).toBe(result.examined - 10)
  })

  it.skipIf(!up)('max-age removes older entries; the archive holds exactly what was removed', async () => {
    const key = `${prefix}:aged`
    const now = Date.now()
    await push(ipc, key, 3000, (i) => ({seq: i, at: i % 3 === 0 ? now - 2 * 3600_000 : new Date(now - 60_000).toISOString()}))
    const archive = join(mkdtempSync(join(tmpdir(), 'wbc-archive-')), 'removed.ndjson')
    const dry = await compactStream(ipc, key, {maxAgeMs: 3600_000, timeField: 'at'}, {dryRun: true})
    expect(dry).toMatchObject({removed: 1000, kept: 2000, dryRun: true})
    expect(await ipc.llen(key)).toBe(3000)
    const result = await compactStream(ipc, key, {maxAgeMs: 3600_000, timeField: 'at'}, {archive})
    expect(result).toMatchObject({removed: 1000, kept: 2000})
    const archived = readFileSync(archive, 'utf8')
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line))
    expect(archived.map((e) => e.seq)).toEqual(Array.from({length: 1000}, (_, i) => i * 3))
    expect((await ipc.lrange<{seq: number}>(key, 0, -1)).map((e) => e.seq)).toEqual(Array.from({length: 3000}, (_, i) => i).filter((i) => i % 3 !== 0))
  })

  it.skipIf(!up)('a chunk that changed under the compactor is left alone', async () => {
    const key = `${prefix}:guard`
    await ipc.rpush(key, {a: 1}, {a: 2}, {a: 3})
    expect(await stepsFor(ipc).compactChunk(key, 0, chunkSha([{a: 9}, {a: 2}, {a: 3}]), '011')).toBe(-1)
    expect(await ipc.lrange(key, 0, -1)).toEqual([{a: 1}, {a: 2}, {a: 3}])
    expect(await stepsFor(ipc).compactChunk(key, 0, chunkSha([{a: 1}, {a: 2}, {a: 3}]), '010')).toBe(2)
    expect(await ipc.lrange(key, 0, -1)).toEqual([{a: 2}])
  })

  it.skipIf(!up)('lists streams with kind, length and ages', async () => {
    await ipc.rpush(`${prefix}:q:default:log`, {user: 1, at: Date.now() - 5000})
    const streams = await listStreams(ipc, prefix, {})
    const queue = streams.find((s) => s.name === 'q:default:log')
    expect(queue).toMatchObject({kind: 'queue', length: 1, policy: null})
    expect(queue!.oldestAgeMs).toBeGreaterThanOrEqual(5000)
    expect(streams.find((s) => s.name === 'keyed')).toMatchObject({kind: 'list', length: 1000})
  })
})

describe.skipIf(!driversUp.redis)('a 1,000,000-entry stream', () => {
  it('is tailed page by page with bounded memory', async () => {
    const prefix = uniquePrefix()
    const ipc = await createIpc(parseConfig({ipc: {driver: 'redis', redis: urls.redis}}).ipc)
    const key = `${prefix}:huge`
    try {
      await push(ipc, key, 1_000_000, (i) => i)
      global.gc?.()
      const before = process.memoryUsage().heapUsed
      let peak = 0
      let cursor = 0
      let seen = 0
      let sum = 0
      for (;;) {
        const page = await tailStream(ipc, key, cursor, 1000)
        if (page.entries.length === 0) break
        expect(page.entries.length).toBeLessThanOrEqual(1000)
        for (const {entry} of page.entries) sum += entry as number
        seen += page.entries.length
        cursor = page.cursor
        peak = Math.max(peak, process.memoryUsage().heapUsed - before)
      }
      expect(seen).toBe(1_000_000)
      expect(sum).toBe((999_999 * 1_000_000) / 2)
      // A whole copy would be tens of MB; pages keep it to a few.
      expect(peak).toBeLessThan(40 * 1024 * 1024)
    } finally {
      await ipc.del(key)
      await ipc.close()
    }
  })
})
