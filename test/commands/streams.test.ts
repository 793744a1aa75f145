import {mkdtempSync, readFileSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {parseConfig} from '../../src/core/config/load.js'
import {createIpc} from '../../src/core/ipc/create.js'
import type {Ipc} from '../../src/core/ipc/types.js'
import {runCli} from '../support/cli.js'
import {cleanRedisPrefix, driversUp} from '../support/engine.js'
import {uniquePrefix, urls} from '../support/services.js'

describe.skipIf(!driversUp.redis)('wbc streams, streams tail, compact (redis)', () => {
  const prefix = uniquePrefix()
  let ipc: Ipc
  let cwd: string
  const wbc = (...args: string[]) => runCli(args, {cwd})

  beforeAll(async () => {
    ipc = await createIpc(parseConfig({ipc: {driver: 'redis', redis: urls.redis}}).ipc)
    cwd = mkdtempSync(join(tmpdir(), 'wbc-streams-'))
    writeFileSync(join(cwd, 'wbc.config.json'), JSON.stringify({ipc: {driver: 'redis', redis: urls.redis, prefix}, streams: {'lists:*': {maxCount: 5}}}))
    const now = Date.now()
    await ipc.rpush(`${prefix}:events`, ...Array.from({length: 30}, (_, i) => ({at: now - (30 - i) * 1000, type: 'flush', n: i})))
    await ipc.rpush(`${prefix}:q:default:visits`, ...Array.from({length: 20}, (_, i) => ({user_id: i % 4, seq: i})))
    await ipc.rpush(`${prefix}:lists:recent`, ...Array.from({length: 12}, (_, i) => ({n: i})))
  })
  afterAll(async () => {
    await cleanRedisPrefix(prefix)
    await ipc.close()
  })

  it('lists every stream with its kind, length and policy', async () => {
    const {code, stdout} = await wbc('streams', '--json')
    expect(code).toBe(0)
    const streams = JSON.parse(stdout).streams
    expect(streams.map((s: {name: string; kind: string; length: number}) => [s.name, s.kind, s.length])).toEqual([
      ['events', 'events', 30],
      ['lists:recent', 'list', 12],
      ['q:default:visits', 'queue', 20],
    ])
    expect(streams[0].policy).toMatchObject({maxCount: 1000})
    expect(streams[1].policy).toMatchObject({maxCount: 5})
    expect(streams[2].policy).toBeNull()
  })

  it('tails a page at a time with a cursor', async () => {
    const first = JSON.parse((await wbc('streams', 'tail', 'events', '--cursor', '0', '--limit', '10', '--json')).stdout)
    expect(first.entries.map((e: {index: number}) => e.index)).toEqual(Array.from({length: 10}, (_, i) => i))
    expect(first.cursor).toBe(10)
    const last = JSON.parse((await wbc('streams', 'tail', 'events', '--cursor', '-3', '--json')).stdout)
    expect(last.entries.map((e: {entry: {n: number}}) => e.entry.n)).toEqual([27, 28, 29])
    expect((await wbc('streams', 'tail', 'nope')).code).toBe(2)
  })

  it('compacts an insert queue only with an archive or --yes, and reports exact counts', async () => {
    const refused = await wbc('compact', 'q:default:visits', '--keep-key', 'user_id')
    expect(refused.code).toBe(2)
    expect(refused.stderr).toContain('--yes')
    expect(await ipc.llen(`${prefix}:q:default:visits`)).toBe(20)
    const archive = join(cwd, 'removed.ndjson')
    const done = JSON.parse((await wbc('compact', 'q:default:visits', '--keep-key', 'user_id', '--archive', archive, '--json')).stdout)
    expect(done).toMatchObject({examined: 20, removed: 16, kept: 4})
    expect(
      readFileSync(archive, 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l).seq),
    ).toEqual(Array.from({length: 16}, (_, i) => i))
    expect((await ipc.lrange<{seq: number}>(`${prefix}:q:default:visits`, 0, -1)).map((e) => e.seq)).toEqual([16, 17, 18, 19])
  })

  it('uses the configured policy when no rule is given, and --dry-run changes nothing', async () => {
    const dry = JSON.parse((await wbc('compact', 'lists:recent', '--dry-run', '--json')).stdout)
    expect(dry).toMatchObject({dryRun: true, removed: 7, kept: 5})
    expect(await ipc.llen(`${prefix}:lists:recent`)).toBe(12)
    expect(JSON.parse((await wbc('compact', 'lists:recent', '--json')).stdout)).toMatchObject({removed: 7, kept: 5})
    expect((await ipc.lrange<{n: number}>(`${prefix}:lists:recent`, 0, -1)).map((e) => e.n)).toEqual([7, 8, 9, 10, 11])
    const none = await wbc('compact', `q:default:visits`, '--yes')
    expect(none.code).toBe(2)
    expect(none.stderr).toContain('no compaction rule')
  })
})
