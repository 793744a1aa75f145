/**
 * The buffer steps through every channel of each driver (run by test/core/ipc/contract.ts: memory in
 * process, over the socket, from cluster workers; redis): a cached base is only a cache, a failing step
 * leaves nothing half-written, doubles travel exactly, large writes fit in one step, and update times
 * move with the rows. The cross-driver table of every step is contract.test.ts beside it.
 */
import fc from 'fast-check'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {entriesOf} from '../../../../src/core/buffer/entries.js'
import {decodeBatch} from '../../../../src/core/buffer/steps/index.js'
import {createWriteBuffer} from '../../../../src/core/buffer/write-buffer.js'
import type {Ipc, Json} from '../../../../src/core/ipc/types.js'
import {openTestDb, type TestDb} from '../../../support/db.js'
import {readPrefixState} from '../../../support/prefix-state.js'
import {stepsFor} from '../../../../src/core/buffer/steps/index.js'

/** Every key under `{p}:` with its content, to compare the whole state before and after a step. */
async function dump(ipc: Ipc, p: string): Promise<Record<string, unknown>> {
  return Object.fromEntries([...(await readPrefixState(ipc, p))].map(([key, {content}]) => [key, content]))
}

/** Digits after the decimal point in the shortest form of x (1.5e-7 → 8). */
const decimalPlaces = (x: number) => {
  const [mantissa, exponent] = String(Math.abs(x)).split('e')
  return Math.max(0, (mantissa.split('.')[1] ?? '').length - Number(exponent ?? 0))
}

export function bufferContract(context: () => {ipc: Ipc; prefix: string}): void {
  let ipc: Ipc
  let prefix: string
  const table = 'default:posts'
  const member = `${table}:1:views`
  const row = `${table}:1`
  let db: TestDb

  beforeAll(async () => {
    ;({ipc, prefix} = context())
    db = await openTestDb('sqlite')
  })
  afterAll(async () => {
    await db?.cleanup()
  })

  describe('a cached base is only a cache', () => {
    const bad: Array<[string, (key: string) => Promise<unknown>, string]> = [
      ['text', (key) => ipc.set(key, 'abc'), 'string'],
      ['a number as a JSON string', (key) => ipc.set(key, '5'), 'string'],
      ['a hash', (key) => ipc.hset(key, {a: 1}), 'hash'],
      ['a list', (key) => ipc.rpush(key, 1), 'list'],
    ]
    bad.forEach(([label, write, type], i) => {
      it(`a base holding ${label}: reads treat it as absent, the ack drops it (noted) and the batch leaves`, async () => {
        const p = `${prefix}bb${i}`
        const posts = `bb${i}_${prefix}`
        await db.knex.schema.createTable(posts, (t) => {
          t.integer('id').primary()
          t.integer('views').notNullable().defaultTo(0)
        })
        db.created.push(posts)
        await db.knex(posts).insert({id: 1, views: 1})
        const counter = `default:${posts}:1:views`
        const baseKey = `${p}:b:${counter}`
        const wb = await createWriteBuffer({ipc, connections: {default: db.knex}, prefix: p}, {timers: false})
        try {
          const posting = wb.table(posts).where(1)
          expect(await posting.increment('views', 2)).toBe(3)
          expect(await ipc.type(baseKey)).toBe('string')

          // Reads: the bad base counts as absent, the total comes from the database.
          await ipc.del(baseKey)
          await write(baseKey)
          expect(await stepsFor(ipc).readCounter(p, counter)).toMatchObject({live: 2, base: null, inflight: {}})
          // Without a base, the step also returns the counter's reading, as readCounter gives it right after.
          const answer = await stepsFor(ipc).increment(p, counter, 1)
          expect(answer).toEqual({live: 3, base: null, inflight: 0, reading: {live: 3, base: null, inflight: {}, generation: expect.any(String)}})
          expect(answer.reading).toEqual(await stepsFor(ipc).readCounter(p, counter))
          await ipc.del(baseKey)
          await write(baseKey)
          expect(await posting.increment('views', 1)).toBe(5)
          await ipc.del(baseKey)
          await write(baseKey)
          expect(await posting.get('views')).toBe(5)

          // The ack: the batch leaves, the bad base is moved aside and noted.
          await ipc.del(baseKey)
          await write(baseKey)
          const before = await dump(ipc, p)
          const report = await wb.flush()
          expect(report).toMatchObject({status: 'ok', quarantined: []})
          expect(await db.knex(posts).select('id', 'views')).toEqual([{id: 1, views: 5}])
          expect(await ipc.type(baseKey)).toBe('none')
          expect(await ipc.smembers(`${p}:idx:inflight`)).toEqual([])
          expect(await ipc.type(`${p}:bad:b:${counter}`)).toBe(type)
          expect(await dump(ipc, `${p}:bad`)).toEqual({[`${p}:bad:b:${counter}`]: before[baseKey]})
          const noted = (await ipc.hgetall(`${p}:idx:bad`))!
          expect(Object.keys(noted)).toEqual([`b:${counter}`])
          // The note is a record on both drivers (redis keeps its JSON text, which reads back decoded).
          expect(noted[`b:${counter}`]).toMatchObject({reason: expect.stringMatching(/^cached base holds .*, not a number; dropped/), at: expect.any(Number)})

          expect(await posting.get('views')).toBe(5)
          expect(await posting.increment('views', 1)).toBe(6)
          expect((await wb.flush()).status).toBe('ok')
          expect(await db.knex(posts).select('id', 'views')).toEqual([{id: 1, views: 6}])
          expect(await posting.get('views')).toBe(6)
        } finally {
          await wb.close()
        }
      })
    })
  })

  it('an increment without a cached base returns the reading readCounter gives, in-flight deltas by batch included', async () => {
    const p = `${prefix}rd`
    await stepsFor(ipc).increment(p, member, 5)
    await stepsFor(ipc).claim(p, {batchId: 'b1', table, createdAt: 1, counters: [member], updates: [], maxInserts: 0})
    const answer = await stepsFor(ipc).increment(p, member, 2)
    expect(answer).toMatchObject({live: 2, base: null, inflight: 5})
    expect(answer.reading).toEqual({live: 2, base: null, inflight: {b1: 5}, generation: expect.any(String)})
    expect(answer.reading).toEqual(await stepsFor(ipc).readCounter(p, member))
    // With a base cached, no reading: the total is known.
    await ipc.set(`${p}:b:${member}`, 10)
    expect(await stepsFor(ipc).increment(p, member, 1)).toEqual({live: 3, base: 10, inflight: 5})
  })

  describe('a step that fails leaves every key as it was', () => {
    const inFlight = async (p: string) => {
      await stepsFor(ipc).increment(p, member, 5)
      await ipc.set(`${p}:b:${member}`, 10)
      await stepsFor(ipc).update(p, row, {title: 'x'})
      await stepsFor(ipc).claim(p, {batchId: 'b1', table, createdAt: 1, counters: [member], updates: [row], maxInserts: 0})
    }
    const cases: Array<{name: string; setup: (p: string) => Promise<unknown>; step: (p: string) => Promise<unknown>; key: (p: string) => string}> = [
      {name: 'increment: counter index not a set', setup: (p) => ipc.set(`${p}:idx:counters`, 'x'), step: (p) => stepsFor(ipc).increment(p, member, 1), key: (p) => `${p}:idx:counters`},
      {name: 'increment: age stamp not a hash', setup: (p) => ipc.set(`${p}:age:${table}`, 1), step: (p) => stepsFor(ipc).increment(p, member, 1), key: (p) => `${p}:age:${table}`},
      {name: 'increment: stats not a hash', setup: (p) => ipc.rpush(`${p}:stats:${table}`, 1), step: (p) => stepsFor(ipc).increment(p, member, 1), key: (p) => `${p}:stats:${table}`},
      {
        name: 'increment: write count not an integer',
        setup: (p) => ipc.hset(`${p}:stats:${table}`, {writes: 'many'}),
        step: (p) => stepsFor(ipc).increment(p, member, 1),
        key: (p) => `${p}:stats:${table}`,
      },
      {
        name: 'increment: in-flight deltas not a hash',
        setup: async (p) => {
          await ipc.sadd(`${p}:idx:inflight`, 'b9')
          await ipc.set(`${p}:ifd:b9`, 'x')
        },
        step: (p) => stepsFor(ipc).increment(p, member, 1),
        key: (p) => `${p}:ifd:b9`,
      },
      {name: 'update: update index not a set', setup: (p) => ipc.set(`${p}:idx:updates`, 'x'), step: (p) => stepsFor(ipc).update(p, row, {title: 'a'}), key: (p) => `${p}:idx:updates`},
      {name: 'update: update times not a hash', setup: (p) => ipc.set(`${p}:ut:${table}`, 'x'), step: (p) => stepsFor(ipc).update(p, row, {title: 'a'}), key: (p) => `${p}:ut:${table}`},
      {name: 'update: stats not a hash', setup: (p) => ipc.sadd(`${p}:stats:${table}`, 'x'), step: (p) => stepsFor(ipc).update(p, row, {title: 'a'}), key: (p) => `${p}:stats:${table}`},
      {name: 'insert: queue index not a set', setup: (p) => ipc.set(`${p}:idx:queues`, 'x'), step: (p) => stepsFor(ipc).insert(p, table, [{id: 1}]), key: (p) => `${p}:idx:queues`},
      {name: 'insert: age stamp not a hash', setup: (p) => ipc.rpush(`${p}:age:${table}`, 1), step: (p) => stepsFor(ipc).insert(p, table, [{id: 1}]), key: (p) => `${p}:age:${table}`},
      {
        name: 'ack: generation not an integer',
        setup: async (p) => {
          await inFlight(p)
          await ipc.set(`${p}:gen:${table}`, 'x')
        },
        step: (p) => stepsFor(ipc).ack(p, 'b1', []),
        key: (p) => `${p}:gen:${table}`,
      },
      {
        name: 'ack: flushed count not an integer',
        setup: async (p) => {
          await inFlight(p)
          await ipc.hset(`${p}:stats:${table}`, {flushed: 1.5})
        },
        step: (p) => stepsFor(ipc).ack(p, 'b1', []),
        key: (p) => `${p}:stats:${table}`,
      },
      {
        name: 'ack: bad-key index not a hash',
        setup: async (p) => {
          await inFlight(p)
          await ipc.set(`${p}:idx:bad`, 'x')
        },
        step: (p) => stepsFor(ipc).ack(p, 'b1', []),
        key: (p) => `${p}:idx:bad`,
      },
      {
        name: 'requeue: counter key holds a hash (the dead letter stays)',
        setup: async (p) => {
          await ipc.hset(`${p}:dl:${table}`, {'b1:0': {id: 'b1:0'}})
          await ipc.hset(`${p}:c:${member}`, {x: 1})
        },
        step: (p) =>
          stepsFor(ipc).requeue(p, table, 'b1:0', {
            kind: 'counter',
            deltas: [
              [`${table}:2:views`, 3],
              [member, 5],
            ],
          }),
        key: (p) => `${p}:c:${member}`,
      },
      {
        name: 'requeue: update times not a hash (the dead letter stays)',
        setup: async (p) => {
          await ipc.hset(`${p}:dl:${table}`, {'b1:0': {id: 'b1:0'}})
          await ipc.rpush(`${p}:ut:${table}`, 1)
        },
        step: (p) => stepsFor(ipc).requeue(p, table, 'b1:0', {kind: 'update', member: row, fields: {title: 'y'}}),
        key: (p) => `${p}:ut:${table}`,
      },
      {
        name: 'quarantine: bad-key index not a hash',
        setup: async (p) => {
          await ipc.sadd(`${p}:idx:counters`, 'junk')
          await ipc.set(`${p}:c:junk`, 1)
          await ipc.set(`${p}:idx:bad`, 'x')
        },
        step: (p) => stepsFor(ipc).quarantine(p, 'c', 'junk', 'does not parse'),
        key: (p) => `${p}:idx:bad`,
      },
      ...(
        [
          ['update index not a set', (p: string) => ipc.set(`${p}:idx:updates`, 'x'), (p: string) => `${p}:idx:updates`],
          ['in-flight index not a set', (p: string) => ipc.set(`${p}:idx:inflight`, 'x'), (p: string) => `${p}:idx:inflight`],
          ['generation not an integer', (p: string) => ipc.set(`${p}:gen:${table}`, 'x'), (p: string) => `${p}:gen:${table}`],
          [
            'bad-key index not a hash (a bad counter to note)',
            async (p: string) => {
              await ipc.set(`${p}:c:${table}:2:views`, 'abc')
              await ipc.set(`${p}:idx:bad`, 'x')
            },
            (p: string) => `${p}:idx:bad`,
          ],
        ] as const
      ).map(([name, setup, key]) => ({
        name: `claim: ${name}`,
        setup: async (p: string) => {
          await stepsFor(ipc).increment(p, member, 5)
          await stepsFor(ipc).update(p, row, {title: 'x'})
          await stepsFor(ipc).insert(p, table, [{id: 1}])
          await setup(p)
        },
        step: (p: string) => stepsFor(ipc).claim(p, {batchId: 'b1', table, createdAt: 1, counters: [member, `${table}:2:views`], updates: [row], maxInserts: 10}),
        key,
      })),
      {
        // The claim takes rows as they are; the step that moves the bad ones checks their list.
        name: 'setAsideRows: list of bad queued rows not a list (a bad row to move)',
        setup: async (p) => {
          await stepsFor(ipc).insert(p, table, [{id: 1}])
          await ipc.rpush(`${p}:q:${table}`, 'not a row')
          await stepsFor(ipc).claim(p, {batchId: 'b1', table, createdAt: 1, counters: [], updates: [], maxInserts: 10})
          await ipc.set(`${p}:bad:q:${table}`, 'x')
        },
        step: (p) => stepsFor(ipc).setAsideRows(p, 'b1', table, {count: 2, positions: [1], reason: '1 queued row(s) not a JSON object'}),
        key: (p) => `${p}:bad:q:${table}`,
      },
      {name: 'cacheBase: counter key holds a list', setup: (p) => ipc.rpush(`${p}:c:${member}`, 1), step: (p) => stepsFor(ipc).cacheBase(p, member, '0', 10, 60_000), key: (p) => `${p}:c:${member}`},
    ]
    cases.forEach((c, i) => {
      it(c.name, async () => {
        const p = `${prefix}pw${i}`
        await c.setup(p)
        const before = await dump(ipc, p)
        const error = await c.step(p).then(
          () => null,
          (e: unknown) => e,
        )
        expect(error).toMatchObject({name: 'WrongType', code: 'WRONG_TYPE', key: c.key(p)})
        expect(await dump(ipc, p)).toEqual(before)
      })
    })

    it('requeue: a delta that is not a number is refused with the dead letter kept', async () => {
      const p = `${prefix}pwd`
      await ipc.hset(`${p}:dl:${table}`, {'b1:0': {id: 'b1:0'}})
      const before = await dump(ipc, p)
      await expect(stepsFor(ipc).requeue(p, table, 'b1:0', {kind: 'counter', deltas: [[member, 'abc' as unknown as number]]})).rejects.toMatchObject({
        name: 'CorruptValue',
        key: `${p}:dl:${table} (field b1:0)`,
      })
      expect(await dump(ipc, p)).toEqual(before)
    })
  })

  describe('state written by someone else', () => {
    // A batch whose delta is not a number (the engine applied Number(delta) or dead-lettered it):
    // the cached base cannot follow it, so it is dropped; the ack never stops half-way.
    const deltas: Array<[string, Json]> = [
      ['an object', {x: 1}],
      ['null', null],
      ['an array', [1]],
      ['true', true],
      ['text', 'abc'],
    ]
    deltas.forEach(([label, delta], i) => {
      it(`ack: a batch delta that is ${label} drops the base (noted) and forgets the batch`, async () => {
        const p = `${prefix}sd${i}`
        await ipc.set(`${p}:if:b1`, {id: 'b1', table, createdAt: 1, counters: [[member, delta]], updates: [], inserts: []})
        await ipc.sadd(`${p}:idx:inflight`, 'b1')
        await ipc.set(`${p}:b:${member}`, 10)
        expect(await stepsFor(ipc).ack(p, 'b1', [])).toBe(true)
        expect(await ipc.smembers(`${p}:idx:inflight`)).toEqual([])
        expect(await ipc.get(`${p}:if:b1`)).toBeNull()
        expect(await ipc.get(`${p}:b:${member}`)).toBeNull()
        expect(await ipc.get(`${p}:bad:b:${member}`)).toBe(10)
        expect(await ipc.get(`${p}:gen:${table}`)).toBe(1)
        const note = (await ipc.hgetall(`${p}:idx:bad`))![`b:${member}`]
        expect(typeof note === 'string' ? JSON.parse(note) : note).toMatchObject({reason: expect.stringMatching(/^batch delta .* is not a number; dropped/)})
      })
    })

    it('reads: a live delta or an in-flight delta that is not a number fails naming its key (never NaN)', async () => {
      const p = `${prefix}sr`
      await ipc.set(`${p}:c:${member}`, 'abc')
      await expect(stepsFor(ipc).readCounter(p, member)).rejects.toMatchObject({name: 'WrongType', key: `${p}:c:${member}`})
      await expect(stepsFor(ipc).cacheBase(p, member, '0', 10, 60_000)).rejects.toMatchObject({name: 'WrongType', key: `${p}:c:${member}`})
      expect(await ipc.get(`${p}:b:${member}`)).toBeNull()
      await ipc.del(`${p}:c:${member}`)
      await ipc.sadd(`${p}:idx:inflight`, 'b9')
      await ipc.hset(`${p}:ifd:b9`, {[member]: 'abc'})
      await expect(stepsFor(ipc).readCounter(p, member)).rejects.toMatchObject({name: 'WrongType', key: `${p}:ifd:b9`})
      await expect(stepsFor(ipc).cacheBase(p, member, '0', 10, 60_000)).rejects.toMatchObject({name: 'WrongType', key: `${p}:ifd:b9`})
      await expect(stepsFor(ipc).increment(p, member, 1)).rejects.toMatchObject({name: 'WrongType', key: `${p}:ifd:b9`})
      expect(await ipc.get(`${p}:c:${member}`)).toBeNull()
      expect(await ipc.get(`${p}:b:${member}`)).toBeNull()
    })
  })

  describe('doubles travel exactly', () => {
    // Redis's INCRBYFLOAT keeps a long double printed with 17 decimal places (docs/design.md):
    // a value needing more places is rounded there; the memory driver keeps every double.
    const exactOn = (x: number) => ipc.driver === 'memory' || decimalPlaces(x) <= 17
    let n = 0

    it('one increment: the live value, the batch delta, the entry, the in-flight delta and the applied base', async () => {
      const p = `${prefix}pr`
      const doubles = fc.oneof(
        fc.double({noNaN: true, noDefaultInfinity: true}),
        fc.double({min: -1e16, max: 1e16, noNaN: true}),
        fc.integer({min: -(2 ** 53), max: 2 ** 53}).map((i) => i + 0),
      )
      await fc.assert(
        fc.asyncProperty(doubles, async (raw) => {
          const x = raw + 0 // -0 is stored as 0
          const id = `b${++n}`
          const counter = `default:prec:${n}:v`
          const same = (value: number | null | undefined) => {
            if (exactOn(x)) expect(value).toBe(x)
            else expect(Math.abs((value as number) - x)).toBeLessThanOrEqual(1e-17)
          }
          const {live} = await stepsFor(ipc).increment(p, counter, x)
          same(live)
          const {batch} = await stepsFor(ipc).claim(p, {batchId: id, table: 'default:prec', createdAt: n, counters: [counter], updates: [], maxInserts: 0})
          if (live === 0) {
            expect(batch).toBeNull()
            return
          }
          expect(batch!.counters.map(([m]) => m)).toEqual([counter])
          same(batch!.counters[0][1])
          same(decodeBatch(await ipc.get(`${p}:if:${id}`)).counters[0][1])
          const [entry] = entriesOf(batch!, 'id')
          same(entry.kind === 'counter' ? entry.deltas.v : NaN)
          same((await stepsFor(ipc).readCounter(p, counter)).inflight[id])
          await ipc.set(`${p}:b:${counter}`, 0)
          expect(await stepsFor(ipc).ack(p, id, [])).toBe(true)
          same((await stepsFor(ipc).readCounter(p, counter)).base)
          same((await ipc.get(`${p}:b:${counter}`)) as number)
          await ipc.del(`${p}:b:${counter}`)
        }),
        {seed: 1207, numRuns: 150, examples: [[123456789012345], [1 / 3], [0.1], [2 ** 53], [-(2 ** 53) + 1], [1e-7], [Number.MAX_VALUE], [5e-324], [1e-18]]},
      )
    })

    it('sums of integers up to 2^53 and of few-digit fractions are exact on both drivers', async () => {
      const p = `${prefix}ps`
      const integers = fc.array(fc.integer({min: -(2 ** 47), max: 2 ** 47}), {minLength: 1, maxLength: 30})
      const fractions = fc.array(
        fc.integer({min: -(2 ** 30), max: 2 ** 30}).map((k) => k / 1024),
        {minLength: 1, maxLength: 30},
      )
      await fc.assert(
        fc.asyncProperty(fc.oneof(integers, fractions), fc.nat({max: 29}), async (deltas, split) => {
          const id = `s${++n}`
          const counter = `default:sums:${n}:v`
          const sum = (values: number[]) => values.reduce((a, b) => a + b, 0) + 0
          const first = deltas.slice(0, split)
          const rest = deltas.slice(split)
          await Promise.all(first.map((d) => stepsFor(ipc).increment(p, counter, d)))
          const claimed = first.length > 0 && sum(first) !== 0
          await stepsFor(ipc).claim(p, {batchId: id, table: 'default:sums', createdAt: n, counters: [counter], updates: [], maxInserts: 0})
          await Promise.all(rest.map((d) => stepsFor(ipc).increment(p, counter, d)))
          const reading = await stepsFor(ipc).readCounter(p, counter)
          expect(reading.live + 0).toBe(sum(rest))
          expect(reading.inflight).toEqual(claimed ? {[id]: sum(first)} : {})
          if (claimed) {
            await ipc.set(`${p}:b:${counter}`, 7)
            await stepsFor(ipc).ack(p, id, [])
            expect((await stepsFor(ipc).readCounter(p, counter)).base).toBe(7 + sum(first))
          }
          await ipc.del(`${p}:b:${counter}`, `${p}:c:${counter}`)
        }),
        {
          seed: 3141,
          numRuns: 60,
          examples: [
            [[2 ** 52, 2 ** 52 - 1, -3], 1],
            [[123456789012345, 1], 2],
          ],
        },
      )
    })
  })

  it('takes 50,000 rows in one insert and 20,000 fields in one update (and requeue), each one step', async () => {
    const p = `${prefix}lg`
    const big = 'default:big'
    const rows = Array.from({length: 50_000}, (_, i) => ({id: i, name: `row ${i}`, n: i / 4}))
    expect(await stepsFor(ipc).insert(p, big, rows)).toBe(50_000)
    expect(await ipc.lrange(`${p}:q:${big}`, 0, -1)).toEqual(rows)
    expect(await ipc.hgetall(`${p}:stats:${big}`)).toEqual({writes: 50_000})
    const fields: Record<string, Json> = Object.fromEntries(Array.from({length: 20_000}, (_, i) => [`c${i}`, i % 3 ? `v${i}` : {n: i}]))
    await stepsFor(ipc).update(p, `${big}:1`, fields)
    expect(await ipc.hgetall(`${p}:u:${big}:1`)).toEqual(fields)
    expect(await ipc.hgetall(`${p}:stats:${big}`)).toEqual({writes: 50_001})

    const {batch} = await stepsFor(ipc).claim(p, {batchId: 'big1', table: big, createdAt: 1, counters: [], updates: [`${big}:1`], maxInserts: 50_000})
    expect(batch!.inserts).toEqual(rows)
    expect(batch!.updates.map(([m, f]) => [m, f])).toEqual([[`${big}:1`, fields]])
    expect(await ipc.type(`${p}:q:${big}`)).toBe('none')
    expect(await ipc.type(`${p}:u:${big}:1`)).toBe('none')

    await ipc.hset(`${p}:dl:${big}`, {'big1:0': {id: 'big1:0'}})
    expect(await stepsFor(ipc).requeue(p, big, 'big1:0', {kind: 'update', member: `${big}:1`, fields})).toBe(true)
    expect(await ipc.hgetall(`${p}:u:${big}:1`)).toEqual(fields)
    expect(await ipc.smembers(`${p}:idx:updates`)).toEqual([`${big}:1`])
  })

  it('records when each row was last written; the claim moves it into the batch; rows written by others have none', async () => {
    const p = `${prefix}ut`
    const times = `${p}:ut:${table}`
    const before = Date.now()
    await stepsFor(ipc).update(p, `${table}:1`, {title: 'a'})
    await stepsFor(ipc).update(p, `${table}:2`, {title: 'b'})
    const after = Date.now()
    const recorded = (await ipc.hgetall<number>(times))!
    expect(Object.keys(recorded).sort()).toEqual([`${table}:1`, `${table}:2`])
    for (const at of Object.values(recorded)) {
      expect(at).toBeGreaterThanOrEqual(before)
      expect(at).toBeLessThanOrEqual(after)
    }
    // A later time already recorded (another writer's clock ahead) is kept.
    await ipc.hset(times, {[`${table}:2`]: after + 60_000})
    await stepsFor(ipc).update(p, `${table}:2`, {title: 'c'})
    expect((await ipc.hgetall(times))![`${table}:2`]).toBe(after + 60_000)
    // A row written by ODAC: fields and index only.
    await ipc.hset(`${p}:u:${table}:3`, {title: 'odac'})
    await ipc.sadd(`${p}:idx:updates`, `${table}:3`)

    const {batch} = await stepsFor(ipc).claim(p, {batchId: 'u1', table, createdAt: 1, counters: [], updates: [`${table}:1`, `${table}:3`], maxInserts: 0})
    const at1 = recorded[`${table}:1`]
    expect(batch!.updates).toEqual([
      [`${table}:1`, {title: 'a'}, at1],
      [`${table}:3`, {title: 'odac'}],
    ])
    expect(decodeBatch(await ipc.get(`${p}:if:u1`)).updates).toEqual(batch!.updates)
    expect(await ipc.hgetall(times)).toEqual({[`${table}:2`]: after + 60_000})
    expect(entriesOf(batch!, 'id')).toEqual([
      {kind: 'update', member: `${table}:1`, where: {id: '1'}, fields: {title: 'a'}, at: at1},
      {kind: 'update', member: `${table}:3`, where: {id: '3'}, fields: {title: 'odac'}},
    ])

    // A dead-lettered update put back is recorded as written when it was put back.
    await ipc.hset(`${p}:dl:${table}`, {'u1:0': {id: 'u1:0'}})
    const requeued = Date.now()
    expect(await stepsFor(ipc).requeue(p, table, 'u1:0', {kind: 'update', member: `${table}:1`, fields: {title: 'again'}})).toBe(true)
    const at = (await ipc.hgetall<number>(times))![`${table}:1`]
    expect(at).toBeGreaterThanOrEqual(requeued)
    expect(at).toBeLessThanOrEqual(Date.now())
    const {batch: second} = await stepsFor(ipc).claim(p, {batchId: 'u2', table, createdAt: 2, counters: [], updates: [`${table}:1`, `${table}:2`], maxInserts: 0})
    expect(second!.updates).toEqual([
      [`${table}:1`, {title: 'again'}, at],
      [`${table}:2`, {title: 'c'}, after + 60_000],
    ])
    expect(await ipc.type(times)).toBe('none')
  })
}
