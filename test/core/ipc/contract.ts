/**
 * The Ipc contract: every way of reaching a driver must pass it unchanged.
 * `open` gives two clients on the same state (`ipc` and a `peer` in another connection or
 * process) and a `cleanup` that removes what the suite wrote.
 */
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import type {Ipc, Json} from '../../../src/core/ipc/types.js'
import {uniquePrefix} from '../../support/services.js'
import {bufferContract} from '../buffer/steps/per-driver.js'
import {stepsFor} from '../../../src/core/buffer/steps/index.js'

export interface ContractTarget {
  ipc: Ipc
  peer: Ipc
  /** Whether arguments reach the driver as the caller made them (functions survive). */
  inProcess: boolean
  cleanup(prefix: string): Promise<void>
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

export function ipcContract(name: string, open: () => Promise<ContractTarget>): void {
  describe(`Ipc contract: ${name}`, () => {
    let t: ContractTarget
    let ipc: Ipc
    let peer: Ipc
    const prefix = uniquePrefix()
    const k = (suffix: string) => `${prefix}:${suffix}`

    beforeAll(async () => {
      t = await open()
      ipc = t.ipc
      peer = t.peer
    })
    afterAll(async () => {
      if (!t) return
      await t.cleanup(prefix)
      await t.peer.close()
      await t.ipc.close()
    })

    it('set/get round-trips JSON values and del counts what it removed', async () => {
      const value = {a: 1, b: [true, null, 'x'], c: {d: -2.5}}
      await ipc.set(k('obj'), value)
      await ipc.set(k('str'), 'hello')
      await ipc.set(k('num'), 42)
      expect(await peer.get(k('obj'))).toEqual(value)
      expect(await peer.get(k('str'))).toBe('hello')
      expect(await peer.get(k('num'))).toBe(42)
      expect(await ipc.get(k('missing'))).toBeNull()
      expect(await ipc.del(k('obj'), k('str'), k('missing'))).toBe(2)
      expect(await ipc.get(k('obj'))).toBeNull()
      expect(await ipc.get(k('num'))).toBe(42)
    })

    it('expires a value after its TTL', async () => {
      await ipc.set(k('ttl'), 'soon gone', 0.2)
      await ipc.set(k('keep'), 'stays')
      expect(await ipc.get(k('ttl'))).toBe('soon gone')
      await sleep(350)
      expect(await ipc.get(k('ttl'))).toBeNull()
      expect(await ipc.get(k('keep'))).toBe('stays')
    })

    it('incrBy/decrBy add atomically and return the new value', async () => {
      expect(await ipc.incrBy(k('ctr'), 5)).toBe(5)
      expect(await peer.incrBy(k('ctr'), 3)).toBe(8)
      expect(await ipc.decrBy(k('ctr'), 10)).toBe(-2)
      expect(await ipc.incrBy(k('ctr'), 0.5)).toBe(-1.5)
      expect(await peer.get(k('ctr'))).toBe(-1.5)
      await Promise.all(Array.from({length: 200}, (_, i) => (i % 2 ? ipc : peer).incrBy(k('ctr2'), 1)))
      expect(await ipc.get(k('ctr2'))).toBe(200)
    })

    it('hset merges fields (last write wins) and hgetall reads them', async () => {
      expect(await ipc.hset(k('h'), {a: 1, b: 'x'})).toBe(2)
      expect(await peer.hset(k('h'), {b: 'y', c: {n: [1]}})).toBe(1)
      expect(await ipc.hgetall(k('h'))).toEqual({a: 1, b: 'y', c: {n: [1]}})
      expect(await ipc.hgetall(k('no-hash'))).toBeNull()
      expect(await peer.hlen(k('h'))).toBe(3)
      expect(await peer.hlen(k('no-hash'))).toBe(0)
      expect(await peer.type(k('h'))).toBe('hash')
      expect(await peer.type(k('no-hash'))).toBe('none')
      expect(await peer.hdel(k('h'), 'a', 'zz')).toBe(1)
      expect(await ipc.hgetall(k('h'))).toEqual({b: 'y', c: {n: [1]}})
      expect(await ipc.hdel(k('h'), 'b', 'c')).toBe(2)
      expect(await ipc.hgetall(k('h'))).toBeNull()
    })

    it('rpush/lrange/llen follow Redis list semantics', async () => {
      expect(await ipc.rpush(k('l'), {n: 0}, {n: 1})).toBe(2)
      expect(await peer.rpush(k('l'), {n: 2}, {n: 3}, {n: 4})).toBe(5)
      expect(await ipc.lrange(k('l'), 0, -1)).toEqual([0, 1, 2, 3, 4].map((n) => ({n})))
      expect(await ipc.lrange(k('l'), 1, 2)).toEqual([{n: 1}, {n: 2}])
      expect(await ipc.lrange(k('l'), -2, -1)).toEqual([{n: 3}, {n: 4}])
      expect(await ipc.lrange(k('l'), 3, 100)).toEqual([{n: 3}, {n: 4}])
      expect(await ipc.lrange(k('l'), 4, 2)).toEqual([])
      expect(await ipc.lrange(k('nolist'), 0, -1)).toEqual([])
      expect(await ipc.llen(k('l'))).toBe(5)
      await ipc.rpush(k('lt'), 1, 2, 3, 4, 5)
      await peer.ltrim(k('lt'), -3, -1)
      expect(await ipc.lrange(k('lt'), 0, -1)).toEqual([3, 4, 5])
      await peer.ltrim(k('lt'), 5, 10)
      expect(await ipc.type(k('lt'))).toBe('none')
    })

    it('lrangeAndDel returns the whole list and deletes it in one step', async () => {
      await ipc.rpush(k('q'), 'a', 'b', 'c')
      expect(await peer.lrangeAndDel(k('q'))).toEqual(['a', 'b', 'c'])
      expect(await ipc.llen(k('q'))).toBe(0)
      expect(await ipc.lrangeAndDel(k('q'))).toEqual([])
      expect(await ipc.rpush(k('q'), 'd')).toBe(1)
    })

    it('sadd/smembers/srem/scard count what changed; an emptied set disappears', async () => {
      expect(await ipc.sadd(k('s'), 'a', 'b', 'c')).toBe(3)
      expect(await peer.sadd(k('s'), 'c', 'd')).toBe(1)
      expect((await ipc.smembers(k('s'))).sort()).toEqual(['a', 'b', 'c', 'd'])
      expect(await ipc.scard(k('s'))).toBe(4)
      expect(await ipc.srem(k('s'), 'a', 'zz')).toBe(1)
      expect(await ipc.srem(k('s'), 'b', 'c', 'd')).toBe(3)
      expect(await ipc.smembers(k('s'))).toEqual([])
      // Gone entirely: the key can now hold another type.
      await ipc.set(k('s'), 'reused')
      expect(await ipc.get(k('s'))).toBe('reused')
    })

    it('scan pages through matching keys with a cursor and returns every key that exists throughout', async () => {
      const keys = Array.from({length: 250}, (_, i) => k(`scan:${i}`))
      for (let i = 0; i < keys.length; i += 50) await Promise.all(keys.slice(i, i + 50).map((key) => ipc.set(key, 1)))
      await ipc.set(k('other'), 1)
      const seen: string[] = []
      let cursor = '0'
      let pages = 0
      do {
        const page = await peer.scan(`${prefix}:scan:*`, cursor, 40)
        seen.push(...page.items)
        cursor = page.cursor
        pages++
        // Changes during the walk: keys that exist the whole time must still come back once.
        if (pages === 2) {
          await ipc.del(keys[249])
          await ipc.set(k('scan:new'), 1)
        }
      } while (cursor !== '0')
      expect(pages).toBeGreaterThan(2)
      const stable = new Set(keys.slice(0, 249))
      const unique = new Set(seen)
      for (const key of stable) expect(unique.has(key)).toBe(true)
      expect(seen.every((key) => key.startsWith(`${prefix}:scan:`))).toBe(true)
    })

    it('sscan pages through a set', async () => {
      const members = Array.from({length: 300}, (_, i) => `m${i}`)
      await ipc.sadd(k('big'), ...members)
      const seen = new Set<string>()
      let cursor = '0'
      do {
        const page = await ipc.sscan(k('big'), cursor, 64)
        page.items.forEach((m) => seen.add(m))
        cursor = page.cursor
      } while (cursor !== '0')
      expect([...seen].sort()).toEqual([...members].sort())
    })

    describe('leases', () => {
      it('gives one holder a token and a fence; others get null', async () => {
        const lease = await ipc.lock(k('lock:a'), 5)
        expect(lease).toMatchObject({key: k('lock:a'), pid: expect.any(Number), fence: 1})
        expect(lease!.token).toMatch(/^[0-9a-f-]{36}$/)
        expect(await peer.lock(k('lock:a'), 5)).toBeNull()
        const record = await peer.inspectLock(k('lock:a'))
        expect(record).toMatchObject({token: lease!.token, fence: 1, pid: lease!.pid, host: lease!.host, legacy: false})
        expect(record!.ttlLeftMs).toBeGreaterThan(3000)
        expect(record!.ttlLeftMs).toBeLessThanOrEqual(5000)
      })

      it('unlock by anyone but the owner does nothing and says who holds it', async () => {
        const lease = await ipc.lock(k('lock:b'), 5)
        expect(await peer.unlock(k('lock:b'))).toMatchObject({released: false, reason: 'not-owner', holder: {token: lease!.token}})
        expect(await peer.unlock(k('lock:b'), 'forged-token')).toMatchObject({released: false, reason: 'not-owner'})
        expect(await peer.inspectLock(k('lock:b'))).not.toBeNull()
        expect(await ipc.unlock(k('lock:b'))).toEqual({released: true})
        expect(await ipc.unlock(k('lock:b'))).toEqual({released: false, reason: 'not-held'})
        expect(await peer.inspectLock(k('lock:b'))).toBeNull()
      })

      it('an expired lease can be taken again, with a higher fence; the old holder cannot renew', async () => {
        const first = await ipc.lock(k('lock:c'), 0.2)
        expect(await ipc.renew(first!, 0.2)).toBe(true)
        await sleep(350)
        expect(await ipc.inspectLock(k('lock:c'))).toBeNull()
        const second = await peer.lock(k('lock:c'), 5)
        expect(second!.fence).toBe(first!.fence + 1)
        expect(await ipc.renew(first!, 5)).toBe(false)
        expect(await ipc.unlock(k('lock:c'), first!.token)).toMatchObject({released: false, reason: 'not-owner'})
        expect(await peer.renew(second!, 10)).toBe(true)
        expect((await ipc.inspectLock(k('lock:c')))!.ttlLeftMs).toBeGreaterThan(8000)
      })

      it('reads a lock written by ODAC (value 1) as held with an unknown owner', async () => {
        await ipc.set(k('lock:odac'), 1, 5)
        expect(await peer.inspectLock(k('lock:odac'))).toMatchObject({token: null, legacy: true, fence: null})
        expect(await peer.lock(k('lock:odac'), 5)).toBeNull()
        expect(await peer.unlock(k('lock:odac'))).toMatchObject({released: false, reason: 'not-owner'})
      })
    })

    it('delivers published messages to subscribers until they unsubscribe', async () => {
      const channel = k('chan')
      const received: Json[] = []
      await peer.subscribe(channel, (message) => received.push(message))
      await sleep(50)
      expect(await ipc.publish(channel, {hello: ['world']})).toBe(1)
      await waitFor(() => received.length === 1)
      expect(received).toEqual([{hello: ['world']}])
      await peer.unsubscribe(channel)
      await sleep(50)
      expect(await ipc.publish(channel, 'late')).toBe(0)
      await sleep(100)
      expect(received).toHaveLength(1)
    })

    describe('bad input gives typed errors and changes nothing', () => {
      const invalid = {name: 'InvalidArgument', code: 'INVALID_ARGUMENT', exitCode: 2}
      const wrongType = {name: 'WrongType', code: 'WRONG_TYPE'}

      it('rejects non-finite and non-numeric deltas', async () => {
        await ipc.set(k('bad:n'), 10)
        for (const delta of [NaN, Infinity, -Infinity, '5', undefined, null]) {
          await expect(ipc.incrBy(k('bad:n'), delta as number)).rejects.toMatchObject({...invalid, argument: 'delta'})
          await expect(ipc.decrBy(k('bad:n'), delta as number)).rejects.toMatchObject(invalid)
        }
        expect(await ipc.get(k('bad:n'))).toBe(10)
      })

      it('rejects values that do not survive JSON', async () => {
        const cyclic: Record<string, unknown> = {a: 1}
        cyclic.self = cyclic
        const values: unknown[] = [undefined, NaN, {a: NaN}, [1, Infinity], new Date(0), cyclic, {nested: {when: new Map()}}]
        if (t.inProcess) values.push(() => 1, {f: () => 1}, Symbol('s'), 10n)
        await ipc.set(k('bad:v'), 'original')
        for (const value of values) {
          await expect(ipc.set(k('bad:v'), value as Json)).rejects.toMatchObject(invalid)
          await expect(ipc.rpush(k('bad:l'), 'ok', value as Json)).rejects.toMatchObject(invalid)
          await expect(ipc.hset(k('bad:h'), {ok: 1, bad: value as Json})).rejects.toMatchObject(invalid)
          await expect(ipc.publish(k('bad:c'), value as Json)).rejects.toMatchObject(invalid)
        }
        expect(await ipc.get(k('bad:v'))).toBe('original')
        expect(await ipc.llen(k('bad:l'))).toBe(0)
        expect(await ipc.hgetall(k('bad:h'))).toBeNull()
      })

      it('rejects empty keys, empty argument lists and bad TTLs', async () => {
        await expect(ipc.set('', 1)).rejects.toMatchObject({...invalid, argument: 'key'})
        await expect(ipc.get(undefined as unknown as string)).rejects.toMatchObject(invalid)
        await expect(ipc.incrBy('', 1)).rejects.toMatchObject(invalid)
        await expect(ipc.hset(k('bad:h2'), {})).rejects.toMatchObject(invalid)
        await expect(ipc.rpush(k('bad:l2'))).rejects.toMatchObject(invalid)
        await expect(ipc.sadd(k('bad:s'))).rejects.toMatchObject(invalid)
        await expect(ipc.sadd(k('bad:s'), 'a', 5 as unknown as string)).rejects.toMatchObject(invalid)
        await expect(ipc.set(k('bad:t'), 1, -1)).rejects.toMatchObject({...invalid, argument: 'ttlSeconds'})
        await expect(ipc.set(k('bad:t'), 1, NaN)).rejects.toMatchObject(invalid)
        await expect(ipc.lock(k('bad:lock'), 0)).rejects.toMatchObject(invalid)
        await expect(ipc.scan('*', 'abc', 10)).rejects.toMatchObject({...invalid, argument: 'cursor'})
        await expect(ipc.scan('*', '0', 0)).rejects.toMatchObject({...invalid, argument: 'count'})
        await expect(ipc.lrange(k('l'), 0.5, 1)).rejects.toMatchObject(invalid)
        expect(await ipc.get(k('bad:t'))).toBeNull()
        expect(await ipc.scard(k('bad:s'))).toBe(0)
      })

      it('refuses operations on keys of another type and leaves them as they were', async () => {
        await ipc.set(k('wt:str'), 'text')
        await ipc.rpush(k('wt:list'), 1, 2)
        await ipc.hset(k('wt:hash'), {a: 1})
        await ipc.sadd(k('wt:set'), 'm')
        await expect(ipc.incrBy(k('wt:str'), 1)).rejects.toMatchObject({...wrongType, key: k('wt:str')})
        await expect(ipc.incrBy(k('wt:list'), 1)).rejects.toMatchObject(wrongType)
        await expect(ipc.hset(k('wt:list'), {a: 1})).rejects.toMatchObject(wrongType)
        await expect(ipc.rpush(k('wt:hash'), 1)).rejects.toMatchObject(wrongType)
        await expect(ipc.sadd(k('wt:str'), 'x')).rejects.toMatchObject(wrongType)
        await expect(ipc.get(k('wt:hash'))).rejects.toMatchObject(wrongType)
        await expect(ipc.lrange(k('wt:set'), 0, -1)).rejects.toMatchObject(wrongType)
        await expect(ipc.lrangeAndDel(k('wt:hash'))).rejects.toMatchObject(wrongType)
        await expect(ipc.smembers(k('wt:list'))).rejects.toMatchObject(wrongType)
        await expect(ipc.lock(k('wt:hash'), 1)).resolves.toBeNull()
        expect(await ipc.get(k('wt:str'))).toBe('text')
        expect(await ipc.lrange(k('wt:list'), 0, -1)).toEqual([1, 2])
        expect(await ipc.hgetall(k('wt:hash'))).toEqual({a: 1})
        expect(await ipc.smembers(k('wt:set'))).toEqual(['m'])
      })
    })

    it('buffer increments issued together: each caller gets its own running total; a bad key fails only its caller', async () => {
      const p = `${prefix}x`
      const member = (id: number) => `default:posts:${id}:views`
      // A counter key that holds a hash: the increment of it must fail alone.
      await ipc.hset(`${p}:c:${member(99)}`, {x: 1})
      const calls = [1, 2, 1, 99, 1, 2].map((id, i) =>
        stepsFor(ipc)
          .increment(p, member(id), i + 1)
          .then(
            (r) => r.live,
            (e: {code: string}) => e.code,
          ),
      )
      expect(await Promise.all(calls)).toEqual([1, 2, 1 + 3, 'WRONG_TYPE', 1 + 3 + 5, 2 + 6])
      expect(await ipc.get(`${p}:c:${member(1)}`)).toBe(9)
      expect((await ipc.smembers(`${p}:idx:counters`)).sort()).toEqual([member(1), member(2)])
      expect(await ipc.hgetall(`${p}:stats:default:posts`)).toEqual({writes: 5})
      await ipc.del(`${p}:c:${member(1)}`, `${p}:c:${member(2)}`, `${p}:c:${member(99)}`, `${p}:idx:counters`, `${p}:stats:default:posts`, `${p}:age:default:posts`)
    })

    describe('buffer steps', () => bufferContract(() => ({ipc, prefix})))
  })
}

export async function waitFor(check: () => boolean, timeoutMs = 3000): Promise<void> {
  const start = Date.now()
  while (!check()) {
    if (Date.now() - start > timeoutMs) throw new Error('condition not met in time')
    await sleep(10)
  }
}
