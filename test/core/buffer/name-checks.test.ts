import fc from 'fast-check'
import {Redis} from 'ioredis'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {memberProblem, shown, whereProblem} from '../../../src/core/buffer/names.js'
import type {ClaimResult} from '../../../src/core/buffer/steps/index.js'
import type {WriteBuffer} from '../../../src/core/buffer/write-buffer.js'
import {openTestDb, type TestDb} from '../../support/db.js'
import {cleanRedisPrefix, driversUp, engineConfig, openEngine} from '../../support/engine.js'
import {uniquePrefix, urls} from '../../support/services.js'
import {badRowsOf, stepsFor} from '../../../src/core/buffer/steps/index.js'

/**
 * The claim checks names twice over: in Lua (buffer-claim.lua) and in the memory twin (names.ts).
 * Seeded random wheres, field names and rows — JSON fragments, quotes, escapes, unicode, numbers
 * JSON.parse refuses — are claimed on both drivers: both must set aside exactly the same keys with
 * exactly the same reasons, and those reasons are the ones names.ts gives.
 */
const fragment = fc.constantFrom(
  '{',
  '}',
  '"',
  ':',
  ',',
  ' ',
  '\t',
  '\n',
  '0',
  '1',
  '7',
  '-',
  '.',
  'e',
  'E',
  '+',
  'x',
  'true',
  'false',
  'null',
  '[',
  ']',
  '\\',
  '\\"',
  '\\u0041',
  '\\ud800',
  '\\n',
  '"id"',
  '"role"',
  '"_a"',
  '"1a"',
  'é',
  '名',
  '😀',
  "'",
  ';',
  '--',
  ' WHERE 1=1',
  '\u0001',
  'Infinity',
  'NaN',
  '1e400',
  '0x10',
  '01',
  '1.',
  '"x"',
)
const name = fc.oneof(
  fc.constantFrom('id', 'role', 'a_b', '_', 'x'.repeat(63), 'x'.repeat(64), '1a', 'id"', 'id; DROP TABLE t', '', ' ', 'é', '名前', 'a-b', 'a b', '"', "'", '😀'),
  fc.string({maxLength: 10}),
  fc.string({unit: fc.constantFrom('a', '_', '1', '"', "'", ';', ' ', '\\', 'é', '-', '('), maxLength: 80}),
)
const scalar = fc.oneof(fc.string({maxLength: 6}), fc.integer(), fc.double(), fc.boolean(), fc.constant(null), fc.constant({}), fc.constant([1]), fc.constant({a: 1}))
const where = fc.oneof(
  fc.array(fragment, {maxLength: 14}).map((parts) => `{${parts.join('')}`),
  fc.dictionary(name, scalar, {maxKeys: 3}).map((object) => JSON.stringify(object)),
  fc.tuple(name, scalar).map(([column, value]) => `{ "${column}" : ${JSON.stringify(value) ?? 'null'} }`),
  fc.string({maxLength: 8}),
)
const row = fc.oneof(fc.dictionary(name, fc.jsonValue({maxDepth: 1}), {maxKeys: 3}), fc.jsonValue({maxDepth: 1}))

const up = driversUp.redis

describe('the claim checks names the same way on redis and on memory', () => {
  const prefix = uniquePrefix()
  let db: TestDb
  let redis: WriteBuffer
  let memory: WriteBuffer
  let raw: Redis

  beforeAll(async () => {
    if (!up) return
    db = await openTestDb('sqlite')
    redis = await openEngine(engineConfig('redis', db.url, prefix))
    memory = await openEngine(engineConfig('memory', db.url, prefix))
    raw = new Redis(urls.redis)
  })
  afterAll(async () => {
    if (!up) return
    raw?.disconnect()
    await redis?.close()
    await memory?.close()
    await db?.cleanup()
    await cleanRedisPrefix(prefix)
  })

  it.skipIf(!up)('same quarantined keys, same reasons, same batch, for 300 seeded hostile inputs', async () => {
    const fixed = ['', '{}', ' { } ', '{"id":1,"id":2}', '{"id":{"a":1}}', '{"id":[1]}', '{"id":null}', '{"id":1e400}', '{"id":0x10}', '{"id":1} --', '{"id":"1","name":"n"}', '{ "id" : -1.5e3 }']
    const wheres = [...new Set([...fixed, ...fc.sample(where, {seed: 1207, numRuns: 300})])]
    // The Ipc refuses an empty field name, so no state of either driver holds one.
    const fieldNames = [...new Set(fc.sample(name, {seed: 1208, numRuns: 60}))].filter((field) => field !== '')
    const rows = fc.sample(row, {seed: 1209, numRuns: 60})
    const table = 'default:t'
    const counters = wheres.map((w) => `${table}:${w}:views`)
    const updates = wheres.map((w) => `${table}:${w}`)
    // One update hash per field name (row n), so each field's verdict is seen on its own.
    const fieldMembers = fieldNames.map((field, i) => [`${table}:fieldrow${i}`, field] as const)
    for (const member of counters) {
      await raw.set(`${prefix}:c:${member}`, '5')
      await memory.ipc.set(`${prefix}:c:${member}`, 5, 0)
    }
    for (const member of updates) {
      await raw.hset(`${prefix}:u:${member}`, 'name', '"v"')
      await memory.ipc.hset(`${prefix}:u:${member}`, {name: 'v'})
    }
    for (const [member, field] of fieldMembers) {
      await raw.hset(`${prefix}:u:${member}`, field, '"v"')
      await memory.ipc.hset(`${prefix}:u:${member}`, {[field]: 'v'})
    }
    for (const value of rows) {
      await raw.rpush(`${prefix}:q:${table}`, JSON.stringify(value))
      await memory.ipc.rpush(`${prefix}:q:${table}`, value as never)
    }
    const request = {batchId: '0001', table, createdAt: 1, counters, updates: [...updates, ...fieldMembers.map(([m]) => m)], maxInserts: 1000}
    const onRedis = await stepsFor(redis.ipc).claim(prefix, request)
    const onMemory = await stepsFor(memory.ipc).claim(prefix, request)

    const summary = (result: ClaimResult) => ({
      quarantined: [...result.quarantined].sort((a, b) => (a.key < b.key ? -1 : 1)),
      counters: result.batch?.counters.map(([member]) => member).sort(),
      updates: result.batch?.updates.map(([member, fields]) => [member, Object.keys(fields)]).sort(),
      inserts: result.batch?.inserts,
    })
    expect(summary(onRedis)).toEqual(summary(onMemory))

    // The reasons are names.ts's; keys with a good name are claimed.
    const reasons = Object.fromEntries(onMemory.quarantined.map((q) => [q.key, q.reason]))
    for (const member of counters) expect(reasons[`c:${member}`] ?? null).toBe(memberProblem(member, true))
    for (const member of updates) expect(reasons[`u:${member}`] ?? null).toBe(memberProblem(member, false))
    for (const [member, field] of fieldMembers) {
      const good = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/.test(field)
      expect(reasons[`u:${member}`] ?? null).toBe(good ? null : `field "${shown(field)}" is not a column name`)
    }
    // The sample covers both verdicts and every kind of where problem.
    const verdicts = new Set(wheres.map((w) => whereProblem(w)?.replace(/^where column .* (is not|holds|appears).*$/s, 'where column $1') ?? null))
    expect(verdicts).toEqual(
      new Set([null, 'the where is empty', 'the where is not a JSON object of column values', 'the where is an empty object', 'where column is not', 'where column holds', 'where column appears']),
    )
    expect(onMemory.batch?.counters.length).toBeGreaterThan(5)
    expect(onMemory.quarantined.length).toBeGreaterThan(50)
  })

  it.skipIf(!up)('redis: JSON that cjson reads but JSON.parse refuses is set aside; strict JSON with the same characters is claimed', async () => {
    const table = 'default:lenient'
    const lenient = ['0x10', 'Infinity', '-Infinity', 'NaN', 'nan', '-inf', '01', '-01', '+1', '1.', '1.e5', '"a\tb"', '"a\u0001b"', '"a\nb"', '-.5', '1\u0000', '"a"\u0000', '1\u000b']
    const strict = [
      '1e+05',
      '-0.5e-05',
      '0',
      '-0',
      '10.25',
      '"x.y: 0x10, Infinity, +1, 01"',
      '"tab\\tnewline\\n\\u0000"',
      '[0,10,-0.5]',
      '{"a":{"b":[true,false,null]}}',
      'null',
      ' 1 ',
      '\t1\r\n',
      '[-0.5,1.25]',
    ]
    const members: string[] = []
    for (const [i, value] of [...lenient, ...strict].entries()) {
      const member = `${table}:${i + 1}`
      members.push(member)
      await raw.hset(`${prefix}:u:${member}`, 'v', value)
      await raw.rpush(`${prefix}:q:${table}`, `{"v":${value}}`)
    }
    const result = await stepsFor(redis.ipc).claim(prefix, {batchId: '0002', table, createdAt: 1, counters: [], updates: members, maxInserts: 1000})
    const expectedBad = lenient.map((_, i) => ({key: `u:${table}:${i + 1}`, reason: 'field v is not JSON'}))
    // (In the order the claim finds them: JSON cjson cannot read first, then what only it reads.)
    const byKey = (a: {key: string}, b: {key: string}) => a.key.localeCompare(b.key)
    expect([...result.quarantined].sort(byKey)).toEqual([...expectedBad].sort(byKey))
    expect(result.batch?.updates.map(([member, fields]) => [member, fields.v])).toEqual(strict.map((value, i) => [`${table}:${lenient.length + i + 1}`, JSON.parse(value)]))
    // Rows are taken as they are: the ones JSON.parse refuses stay their text, and setAsideRows
    // (which the flusher calls on finding them) moves exactly those aside.
    expect(result.batch?.inserts).toEqual([...lenient.map((value) => `{"v":${value}}`), ...strict.map((value) => ({v: JSON.parse(value)}))])
    const bad = badRowsOf(result.batch!)
    expect(bad).toEqual({count: lenient.length + strict.length, positions: lenient.map((_, i) => i), reason: `${lenient.length} queued row(s) not a JSON object`})
    expect(await stepsFor(redis.ipc).setAsideRows(prefix, '0002', table, bad!)).toEqual({setAside: lenient.length, left: 2 * strict.length})
    const rewritten = await stepsFor(redis.ipc).readBatch(prefix, '0002')
    expect(rewritten?.inserts).toEqual(strict.map((value) => ({v: JSON.parse(value)})))
    // Nothing else in the batch changed with the rewrite.
    expect({...rewritten, inserts: []}).toEqual({...result.batch, inserts: []})
    expect(await raw.lrange(`${prefix}:bad:q:${table}`, 0, -1)).toEqual(lenient.map((value) => `{"v":${value}}`))
  })
})
