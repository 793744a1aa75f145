/**
 * The step contract, table-driven: every step runs on both drivers from the same state (seeded
 * through the Ipc), and both must give the same reply and leave the same keys under the prefix —
 * every key, read whole by its type. Where a case says what is expected, both must match it too.
 */
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {decodeBatch} from '../../../../src/core/buffer/steps/batch-format.js'
import type {BufferSteps} from '../../../../src/core/buffer/steps/contract.js'
import {stepsFor} from '../../../../src/core/buffer/steps/index.js'
import {parseConfig} from '../../../../src/core/config/load.js'
import {createIpc} from '../../../../src/core/ipc/create.js'
import {deleteMatching} from '../../../../src/core/ipc/cursor.js'
import type {Ipc} from '../../../../src/core/ipc/types.js'
import {chunkSha} from '../../../../src/core/streams/chunk.js'
import {readPrefixState} from '../../../support/prefix-state.js'
import {available, uniquePrefix, urls} from '../../../support/services.js'

const redisUp = await available('redis')
const table = 'default:posts'
const member = `${table}:1:views`
const other = `${table}:2:views`
const row = `${table}:1`

/** A time the steps stamp (now, in ms) reads as T: runs on two drivers happen at different moments. */
const isTime = (value: unknown) => (typeof value === 'number' || (typeof value === 'string' && /^\d+$/.test(value))) && Number(value) > 1e12
function normalize(value: unknown, p: string): unknown {
  if (isTime(value)) return 'T'
  if (typeof value === 'string')
    return value
      .split(p)
      .join('P')
      .replace(/"at":\d{13,}/g, '"at":T')
  if (Array.isArray(value)) return value.map((item) => normalize(item, p))
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k.split(p).join('P'), normalize(v, p)]))
  return value
}

/** Every key under `{p}:` with its whole content (a batch in flight decoded: Redis keeps rows as JSON text), prefix as P. */
async function dump(ipc: Ipc, p: string): Promise<Record<string, unknown>> {
  const state: Record<string, unknown> = {}
  for (const [key, {type, content}] of await readPrefixState(ipc, p)) {
    // Rows unchecked: a batch in flight may hold rows setAsideRows has yet to set aside.
    state[key.split(p).join('P')] = {type, value: normalize(key.startsWith(`${p}:if:`) ? decodeBatch(content, key, undefined, {rows: false}) : content, p)}
  }
  return state
}

interface Case {
  name: string
  seed?: (ipc: Ipc, p: string, steps: BufferSteps) => Promise<unknown>
  run: (steps: BufferSteps, p: string) => Promise<unknown>
  /** The reply both drivers give (times as T, the prefix as P); an error as {error: name, key}. */
  reply?: unknown
  /** Keys both drivers leave (a subset check per key: `{type, value}`); absent: only compared across drivers. */
  keys?: Record<string, unknown>
}

const claimOf = (p: string, steps: BufferSteps, id = 'b1', extra: {counters?: string[]; updates?: string[]; maxInserts?: number} = {}) =>
  steps.claim(p, {batchId: id, table, createdAt: 1, counters: extra.counters ?? [member], updates: extra.updates ?? [], maxInserts: extra.maxInserts ?? 0})

const CASES: Case[] = [
  // increment
  {
    name: 'increment: a fresh counter is indexed and its table stamped',
    run: (s, p) => s.increment(p, member, 5),
    reply: {live: 5, base: null, inflight: 0, reading: {live: 5, base: null, inflight: {}, generation: '0'}},
    keys: {
      'P:c:default:posts:1:views': {type: 'string', value: 5},
      'P:idx:counters': {type: 'set', value: [member]},
      'P:age:default:posts': {type: 'hash', value: {since: 'T', last: 'T'}},
      'P:stats:default:posts': {type: 'hash', value: {writes: 1}},
    },
  },
  {
    name: 'increment: a delta that would take the counter past the largest double is refused, the counter left as it was',
    // (Negative: a large positive value reads as a time in these dumps.)
    seed: (_ipc, p, s) => s.increment(p, member, -1e308),
    run: (s, p) => s.increment(p, member, -1e308),
    reply: {error: 'InvalidArgument', key: undefined},
    keys: {'P:c:default:posts:1:views': {type: 'string', value: -1e308}, 'P:stats:default:posts': {type: 'hash', value: {writes: 1}}},
  },
  {
    name: 'increment: answers the cached base and the in-flight sum',
    seed: async (ipc, p, s) => {
      await s.increment(p, member, 2)
      await claimOf(p, s)
      await ipc.set(`${p}:b:${member}`, 10)
    },
    run: (s, p) => s.increment(p, member, 3),
    reply: {live: 3, base: 10, inflight: 2},
  },
  {
    name: 'increment: a cached base that is not a number (text) reads as absent',
    seed: (ipc, p) => ipc.set(`${p}:b:${member}`, 'abc'),
    run: (s, p) => s.increment(p, member, 1),
    reply: {live: 1, base: null, inflight: 0, reading: {live: 1, base: null, inflight: {}, generation: '0'}},
    keys: {'P:b:default:posts:1:views': {type: 'string', value: 'abc'}},
  },
  {
    name: 'increment: a cached base of another type (a hash) reads as absent',
    seed: (ipc, p) => ipc.hset(`${p}:b:${member}`, {a: 1}),
    run: (s, p) => s.increment(p, member, 1),
    reply: {live: 1, base: null, inflight: 0, reading: {live: 1, base: null, inflight: {}, generation: '0'}},
  },
  {
    name: 'increment: a counter holding text fails naming it, nothing written',
    seed: (ipc, p) => ipc.set(`${p}:c:${member}`, 'abc'),
    run: (s, p) => s.increment(p, member, 1),
    reply: {error: 'WrongType', key: `P:c:${member}`},
    keys: {'P:stats:default:posts': undefined},
  },
  {
    name: 'increment: stats holding a write count that is not an integer fails, nothing written',
    seed: (ipc, p) => ipc.hset(`${p}:stats:${table}`, {writes: 'many'}),
    run: (s, p) => s.increment(p, member, 1),
    reply: {error: 'WrongType', key: `P:stats:${table}`},
    keys: {'P:c:default:posts:1:views': undefined},
  },
  // update
  {
    name: 'update: merges fields, indexes the row, records its write time, stamps the table',
    seed: (_ipc, p, s) => s.update(p, row, {title: 'a', score: 1}),
    run: (s, p) => s.update(p, row, {title: 'b', tags: ['x', {y: null}]}),
    keys: {
      'P:u:default:posts:1': {type: 'hash', value: {title: 'b', score: 1, tags: ['x', {y: null}]}},
      'P:idx:updates': {type: 'set', value: [row]},
      'P:ut:default:posts': {type: 'hash', value: {[row]: 'T'}},
      'P:stats:default:posts': {type: 'hash', value: {writes: 2}},
    },
  },
  {
    name: 'update: a later write time already recorded is kept',
    seed: (ipc, p) => ipc.hset(`${p}:ut:${table}`, {[row]: 9_000_000_000_000}),
    run: (s, p) => s.update(p, row, {title: 'a'}),
    keys: {'P:ut:default:posts': {type: 'hash', value: {[row]: 'T'}}},
  },
  {
    name: 'update: update times of another type fail, nothing written',
    seed: (ipc, p) => ipc.set(`${p}:ut:${table}`, 'x'),
    run: (s, p) => s.update(p, row, {title: 'a'}),
    reply: {error: 'WrongType', key: `P:ut:${table}`},
    keys: {'P:u:default:posts:1': undefined},
  },
  // insert
  {
    name: 'insert: queues rows in order, indexes the queue, counts every row',
    seed: (_ipc, p, s) => s.insert(p, table, [{id: 1}]),
    run: (s, p) => s.insert(p, table, [{id: 2}, {id: 3, t: 'x'}]),
    reply: 3,
    keys: {
      'P:q:default:posts': {type: 'list', value: [{id: 1}, {id: 2}, {id: 3, t: 'x'}]},
      'P:idx:queues': {type: 'set', value: [table]},
      'P:stats:default:posts': {type: 'hash', value: {writes: 3}},
    },
  },
  // claim
  {
    name: 'claim: moves counters, updates (with their times) and rows into one batch',
    seed: async (_ipc, p, s) => {
      await s.increment(p, member, 5)
      await s.increment(p, other, 0)
      await s.update(p, row, {title: 'x'})
      await s.insert(p, table, [{id: 1}, {id: 2}, {id: 3}])
    },
    run: (s, p) => claimOf(p, s, 'b1', {counters: [member, other, `${table}:3:views`], updates: [row], maxInserts: 2}),
    reply: {
      batch: {id: 'b1', table, createdAt: 1, counters: [[member, 5]], updates: [[row, {title: 'x'}, 'T']], inserts: [{id: 1}, {id: 2}]},
      quarantined: [],
    },
    keys: {
      'P:c:default:posts:1:views': undefined,
      'P:ifd:b1': {type: 'hash', value: {[member]: 5}},
      'P:idx:inflight': {type: 'set', value: ['b1']},
      'P:gen:default:posts': {type: 'string', value: 1},
      'P:q:default:posts': {type: 'list', value: [{id: 3}]},
      'P:ut:default:posts': undefined,
    },
  },
  {
    name: 'claim: a counter holding text is quarantined with its reason; queued rows are taken as they are, a row that is not an object too',
    seed: async (ipc, p, s) => {
      await ipc.set(`${p}:c:${member}`, 'abc')
      await ipc.sadd(`${p}:idx:counters`, member)
      await s.increment(p, other, 4)
      await ipc.rpush(`${p}:q:${table}`, {id: 1}, 'not a row')
      await ipc.sadd(`${p}:idx:queues`, table)
    },
    run: (s, p) => claimOf(p, s, 'b2', {counters: [member, other], maxInserts: 10}),
    keys: {
      'P:bad:c:default:posts:1:views': {type: 'string', value: 'abc'},
      'P:bad:q:default:posts': undefined,
      'P:if:b2': {type: 'string', value: {id: 'b2', table, createdAt: 1, counters: [[other, 4]], updates: [], inserts: [{id: 1}, 'not a row']}},
    },
  },
  {
    name: 'claim: nothing to take answers null and writes nothing',
    run: (s, p) => claimOf(p, s, 'b3'),
    reply: {batch: null, quarantined: []},
    keys: {'P:gen:default:posts': undefined, 'P:idx:inflight': undefined},
  },
  // setAsideRows
  {
    name: 'setAsideRows: the rows named go to the end of the bad rows in order, with the reason; the batch keeps the rest',
    seed: async (ipc, p, s) => {
      await s.increment(p, member, 2)
      await ipc.rpush(`${p}:bad:q:${table}`, 'older')
      await ipc.rpush(`${p}:q:${table}`, {id: 1}, 'not a row', {}, {'bad name': 1}, [1], {id: 2, __proto__x: 'y'}, {id: 3})
      await ipc.sadd(`${p}:idx:queues`, table)
      await claimOf(p, s, 'b1', {maxInserts: 10})
    },
    run: (s, p) => s.setAsideRows(p, 'b1', table, {count: 7, positions: [1, 2, 3, 4], reason: 'four bad rows'}),
    reply: {setAside: 4, left: 4},
    keys: {
      'P:bad:q:default:posts': {type: 'list', value: ['older', 'not a row', {}, {'bad name': 1}, [1]]},
      'P:idx:bad': {type: 'hash', value: {'q:default:posts': {reason: 'four bad rows', at: 'T'}}},
      'P:if:b1': {type: 'string', value: {id: 'b1', table, createdAt: 1, counters: [[member, 2]], updates: [], inserts: [{id: 1}, {id: 2, __proto__x: 'y'}, {id: 3}]}},
      'P:idx:inflight': {type: 'set', value: ['b1']},
    },
  },
  {
    name: 'setAsideRows: no position named leaves the batch as it is',
    seed: async (ipc, p, s) => {
      await ipc.rpush(`${p}:q:${table}`, {id: 1}, {id: 2})
      await ipc.sadd(`${p}:idx:queues`, table)
      await claimOf(p, s, 'b1', {counters: [], maxInserts: 10})
    },
    run: (s, p) => s.setAsideRows(p, 'b1', table, {count: 2, positions: [], reason: 'none'}),
    reply: {setAside: 0, left: 2},
    keys: {'P:bad:q:default:posts': undefined, 'P:idx:bad': undefined, 'P:if:b1': {type: 'string', value: {id: 'b1', table, createdAt: 1, counters: [], updates: [], inserts: [{id: 1}, {id: 2}]}}},
  },
  {
    name: 'setAsideRows: every row named leaves the batch with nothing (left 0), still in flight',
    seed: async (ipc, p, s) => {
      await ipc.rpush(`${p}:q:${table}`, 7, 'x')
      await ipc.sadd(`${p}:idx:queues`, table)
      await claimOf(p, s, 'b1', {counters: [], maxInserts: 10})
    },
    run: (s, p) => s.setAsideRows(p, 'b1', table, {count: 2, positions: [0, 1], reason: '2 queued row(s) not a JSON object'}),
    reply: {setAside: 2, left: 0},
    keys: {'P:bad:q:default:posts': {type: 'list', value: [7, 'x']}, 'P:if:b1': {type: 'string', value: {id: 'b1', table, createdAt: 1, counters: [], updates: [], inserts: []}}},
  },
  ...[
    ['another row count than the batch holds', {count: 3, positions: [1], reason: 'r'}],
    ['a position past the rows', {count: 2, positions: [2], reason: 'r'}],
    ['positions out of order', {count: 2, positions: [1, 0], reason: 'r'}],
    ['a position named twice', {count: 2, positions: [1, 1], reason: 'r'}],
    ['a position that is not an integer', {count: 2, positions: [0.5], reason: 'r'}],
  ].map(([what, rows]): Case => ({
    name: `setAsideRows: ${what as string} names rows of another batch: changed, nothing written`,
    seed: async (ipc, p, s) => {
      await ipc.rpush(`${p}:q:${table}`, {id: 1}, 'x')
      await ipc.sadd(`${p}:idx:queues`, table)
      await claimOf(p, s, 'b1', {counters: [], maxInserts: 10})
    },
    run: (s, p) => s.setAsideRows(p, 'b1', table, rows as {count: number; positions: number[]; reason: string}),
    reply: {changed: true},
    keys: {'P:bad:q:default:posts': undefined, 'P:idx:bad': undefined, 'P:if:b1': {type: 'string', value: {id: 'b1', table, createdAt: 1, counters: [], updates: [], inserts: [{id: 1}, 'x']}}},
  })),
  {
    name: 'setAsideRows: a batch that is gone answers null',
    run: (s, p) => s.setAsideRows(p, 'b1', table, {count: 1, positions: [0], reason: 'r'}),
    reply: null,
  },
  {
    name: 'setAsideRows: a batch of another table is foreign: nothing is written',
    seed: (ipc, p) => ipc.set(`${p}:if:b1`, {id: 'b1', table: 'default:other', createdAt: 1, counters: [], updates: [], inserts: ['x']}),
    run: (s, p) => s.setAsideRows(p, 'b1', table, {count: 1, positions: [0], reason: 'r'}),
    reply: {foreign: true},
    keys: {'P:bad:q:default:posts': undefined, 'P:idx:bad': undefined},
  },
  {
    name: 'setAsideRows: bad rows whose list is a key of another type: WrongType naming it, nothing written',
    seed: async (ipc, p, s) => {
      await ipc.set(`${p}:bad:q:${table}`, 'taken')
      await ipc.rpush(`${p}:q:${table}`, {id: 1}, 'x')
      await ipc.sadd(`${p}:idx:queues`, table)
      await claimOf(p, s, 'b1', {counters: [], maxInserts: 10})
    },
    run: (s, p) => s.setAsideRows(p, 'b1', table, {count: 2, positions: [1], reason: 'r'}),
    reply: {error: 'WrongType', key: `P:bad:q:${table}`},
    keys: {'P:bad:q:default:posts': {type: 'string', value: 'taken'}, 'P:if:b1': {type: 'string', value: {id: 'b1', table, createdAt: 1, counters: [], updates: [], inserts: [{id: 1}, 'x']}}},
  },
  // quarantine
  {
    name: 'quarantine: takes the member off its index, moves its key under bad: and records why',
    seed: async (ipc, p) => {
      await ipc.set(`${p}:c:junk`, 3)
      await ipc.sadd(`${p}:idx:counters`, 'junk', member)
    },
    run: (s, p) => s.quarantine(p, 'c', 'junk', 'does not parse'),
    keys: {
      'P:c:junk': undefined,
      'P:bad:c:junk': {type: 'string', value: 3},
      'P:idx:counters': {type: 'set', value: [member]},
      'P:idx:bad': {type: 'hash', value: {'c:junk': {reason: 'does not parse', at: 'T'}}},
    },
  },
  // ack
  {
    name: 'ack: forgets the batch, moves deltas into cached bases (not the dead ones), counts what flushed',
    seed: async (ipc, p, s) => {
      await s.increment(p, member, 5)
      await s.increment(p, other, 7)
      await claimOf(p, s, 'b1', {counters: [member, other]})
      await ipc.set(`${p}:b:${member}`, 10)
      await ipc.set(`${p}:b:${other}`, 20)
    },
    run: (s, p) => s.ack(p, 'b1', [other]),
    reply: true,
    keys: {
      'P:if:b1': undefined,
      'P:ifd:b1': undefined,
      'P:idx:inflight': undefined,
      'P:b:default:posts:1:views': {type: 'string', value: 15},
      'P:b:default:posts:2:views': {type: 'string', value: 20},
      'P:gen:default:posts': {type: 'string', value: 2},
      'P:stats:default:posts': {type: 'hash', value: {writes: 2, flushed: 1}},
    },
  },
  {
    name: 'ack: bases of every sign and size take their deltas exactly (integers added in the script, the rest by INCRBYFLOAT)',
    seed: async (ipc, p, s) => {
      const bases: Array<[string, number, number]> = [
        ['1', -999_999_999_999_999, -1], // 15 digits and a sign, minus 1: the sum has 16 (negative: a large positive reads as a time here)
        ['2', -5, 3],
        ['3', 0, -4],
        ['4', 2.5, 1], // not an integer: INCRBYFLOAT
        ['5', -1_234_567_890_123_456, -2], // 16 digits: INCRBYFLOAT
        ['6', 7, 0.25],
      ]
      for (const [id, , delta] of bases) await s.increment(p, `${table}:${id}:views`, delta)
      await claimOf(p, s, 'b1', {counters: bases.map(([id]) => `${table}:${id}:views`)})
      for (const [id, base] of bases) await ipc.set(`${p}:b:${table}:${id}:views`, base, 600)
    },
    run: (s, p) => s.ack(p, 'b1', []),
    reply: true,
    keys: {
      'P:b:default:posts:1:views': {type: 'string', value: -1_000_000_000_000_000},
      'P:b:default:posts:2:views': {type: 'string', value: -2},
      'P:b:default:posts:3:views': {type: 'string', value: -4},
      'P:b:default:posts:4:views': {type: 'string', value: 3.5},
      'P:b:default:posts:5:views': {type: 'string', value: -1_234_567_890_123_458},
      'P:b:default:posts:6:views': {type: 'string', value: 7.25},
    },
  },
  {
    name: 'ack: a member named twice in a batch written by someone else moves its base by both deltas',
    seed: async (ipc, p) => {
      await ipc.set(`${p}:if:b1`, {
        id: 'b1',
        table,
        createdAt: 1,
        counters: [
          [member, '2'],
          [member, '3'],
        ],
        updates: [],
        inserts: [],
        encoded: true,
      })
      await ipc.sadd(`${p}:idx:inflight`, 'b1')
      await ipc.set(`${p}:b:${member}`, 10)
    },
    run: (s, p) => s.ack(p, 'b1', []),
    reply: true,
    keys: {'P:b:default:posts:1:views': {type: 'string', value: 15}, 'P:if:b1': undefined},
  },
  {
    name: 'ack: a cached base holding text is dropped (noted), the ack goes on',
    seed: async (ipc, p, s) => {
      await s.increment(p, member, 5)
      await claimOf(p, s)
      await ipc.set(`${p}:b:${member}`, 'abc')
    },
    run: (s, p) => s.ack(p, 'b1', []),
    reply: true,
    keys: {'P:b:default:posts:1:views': undefined, 'P:bad:b:default:posts:1:views': {type: 'string', value: 'abc'}},
  },
  {
    name: 'ack: a batch already gone answers false and leaves its id off the index',
    seed: (ipc, p) => ipc.sadd(`${p}:idx:inflight`, 'gone'),
    run: (s, p) => s.ack(p, 'gone', []),
    reply: false,
    keys: {'P:idx:inflight': undefined},
  },
  // requeue
  {
    name: 'requeue: a counter dead letter goes back to its counters, once',
    seed: async (ipc, p, s) => {
      await ipc.hset(`${p}:dl:${table}`, {'b1:0': {kind: 'counter'}})
      await s.increment(p, member, 1)
    },
    run: async (s, p) => [
      await s.requeue(p, table, 'b1:0', {
        kind: 'counter',
        deltas: [
          [member, 5],
          [other, 2],
        ],
      }),
      await s.requeue(p, table, 'b1:0', {kind: 'counter', deltas: [[member, 5]]}),
    ],
    reply: [true, false],
    keys: {
      'P:dl:default:posts': undefined,
      'P:c:default:posts:1:views': {type: 'string', value: 6},
      'P:c:default:posts:2:views': {type: 'string', value: 2},
    },
  },
  {
    name: 'requeue: an update keeps the fields written since and is timed now',
    seed: async (ipc, p, s) => {
      await ipc.hset(`${p}:dl:${table}`, {'b1:0': {kind: 'update'}})
      await s.update(p, row, {title: 'newer'})
    },
    run: (s, p) => s.requeue(p, table, 'b1:0', {kind: 'update', member: row, fields: {title: 'older', score: 2}}),
    reply: true,
    keys: {'P:u:default:posts:1': {type: 'hash', value: {title: 'newer', score: 2}}, 'P:ut:default:posts': {type: 'hash', value: {[row]: 'T'}}},
  },
  {
    name: 'requeue: an insert goes back to the end of the queue',
    seed: async (ipc, p, s) => {
      await ipc.hset(`${p}:dl:${table}`, {'b1:0': {kind: 'insert'}})
      await s.insert(p, table, [{id: 1}])
    },
    run: (s, p) => s.requeue(p, table, 'b1:0', {kind: 'insert', row: {id: 9}}),
    reply: true,
    keys: {'P:q:default:posts': {type: 'list', value: [{id: 1}, {id: 9}]}},
  },
  {
    name: 'requeue: a counter key holding a hash fails and the dead letter stays',
    seed: async (ipc, p) => {
      await ipc.hset(`${p}:dl:${table}`, {'b1:0': {kind: 'counter'}})
      await ipc.hset(`${p}:c:${member}`, {x: 1})
    },
    run: (s, p) => s.requeue(p, table, 'b1:0', {kind: 'counter', deltas: [[member, 5]]}),
    reply: {error: 'WrongType', key: `P:c:${member}`},
    keys: {'P:dl:default:posts': {type: 'hash', value: {'b1:0': {kind: 'counter'}}}},
  },
  // readCounter
  {
    name: 'readCounter: live delta, cached base, in-flight deltas per batch, generation',
    seed: async (ipc, p, s) => {
      await s.increment(p, member, 2)
      await claimOf(p, s, 'b1')
      await s.increment(p, member, 3)
      await ipc.set(`${p}:b:${member}`, 40)
    },
    run: (s, p) => s.readCounter(p, member),
    reply: {live: 3, base: 40, inflight: {b1: 2}, generation: '1'},
  },
  {
    name: 'readCounter: a cached base holding text reads as absent; nothing pending reads as 0',
    seed: (ipc, p) => ipc.set(`${p}:b:${member}`, 'abc'),
    run: (s, p) => s.readCounter(p, member),
    reply: {live: 0, base: null, inflight: {}, generation: '0'},
  },
  // cacheBase
  {
    name: 'cacheBase: caches while the generation is unchanged and answers the live and in-flight sums',
    seed: async (ipc, p, s) => {
      await s.increment(p, member, 2)
      await claimOf(p, s, 'b1')
      await s.increment(p, member, 3)
      await ipc.set(`${p}:b:${member}`, 'abc')
    },
    run: (s, p) => s.cacheBase(p, member, '1', 100, 60_000),
    reply: {cached: true, live: 3, inflight: 2},
    keys: {'P:b:default:posts:1:views': {type: 'string', value: 100}},
  },
  {
    name: 'cacheBase: a generation that moved on caches nothing',
    seed: (_ipc, p, s) => s.increment(p, member, 2).then(() => claimOf(p, s)),
    run: (s, p) => s.cacheBase(p, member, '0', 100, 60_000),
    reply: {cached: false, live: 0, inflight: 0},
    keys: {'P:b:default:posts:1:views': undefined},
  },
  // settleAge
  {
    name: "settleAge: nothing written since the flush started forgets the table's age",
    seed: (ipc, p) => ipc.hset(`${p}:age:${table}`, {since: 1000, last: 2000}),
    run: (s, p) => s.settleAge(p, table, 3000),
    keys: {'P:age:default:posts': undefined},
  },
  {
    name: 'settleAge: a write since the flush started moves the age up to the flush start',
    seed: (ipc, p) => ipc.hset(`${p}:age:${table}`, {since: 1000, last: 5000}),
    run: (s, p) => s.settleAge(p, table, 3000),
    keys: {'P:age:default:posts': {type: 'hash', value: {since: 3000, last: 5000}}},
  },
  // compactChunk
  {
    name: 'compactChunk: removes the masked entries of an unchanged chunk; a changed chunk is left (-1)',
    seed: (ipc, p) => ipc.rpush(`${p}:q:${table}`, {a: 1}, {a: 2}, {a: 3}, {a: 4}),
    run: async (s, p) => [await s.compactChunk(`${p}:q:${table}`, 0, chunkSha([{a: 9}, {a: 2}]), '01'), await s.compactChunk(`${p}:q:${table}`, 0, chunkSha([{a: 1}, {a: 2}, {a: 3}]), '010')],
    reply: [-1, 2],
    keys: {'P:q:default:posts': {type: 'list', value: [{a: 2}, {a: 4}]}},
  },
  // readBatch
  {
    name: 'readBatch: a batch in flight, decoded; one that is gone reads null',
    seed: async (_ipc, p, s) => {
      await s.insert(p, table, [{id: 1}])
      await s.update(p, row, {title: 'x'})
      await claimOf(p, s, 'b1', {counters: [], updates: [row], maxInserts: 5})
    },
    run: async (s, p) => [await s.readBatch(p, 'b1'), await s.readBatch(p, 'b9')],
    reply: [{id: 'b1', table, createdAt: 1, counters: [], updates: [[row, {title: 'x'}, 'T']], inserts: [{id: 1}]}, null],
  },
  {
    name: 'readBatch: a batch kept under another id than its own is refused (CorruptValue)',
    seed: (ipc, p) => ipc.set(`${p}:if:b1`, {id: 'b2', table, createdAt: 1, counters: [], updates: [], inserts: []}),
    run: (s, p) => s.readBatch(p, 'b1'),
    reply: {error: 'CorruptValue', key: 'P:if:b1'},
  },
]

describe.skipIf(!redisUp)('the step contract: every step, both drivers, same reply and same keys', () => {
  const drivers: Record<'memory' | 'redis', Ipc> = {} as never
  const root = uniquePrefix('wbsteps')
  let n = 0

  beforeAll(async () => {
    drivers.memory = await createIpc(parseConfig({ipc: {driver: 'memory'}}).ipc, {role: 'primary', serveSocket: false})
    drivers.redis = await createIpc(parseConfig({ipc: {driver: 'redis', redis: urls.redis}}).ipc)
  })
  afterAll(async () => {
    await deleteMatching(drivers.redis, `${root}*`).catch(() => {})
    await Promise.all(Object.values(drivers).map((ipc) => ipc?.close()))
  })

  async function runOn(ipc: Ipc, c: Case): Promise<{reply: unknown; keys: Record<string, unknown>}> {
    const p = `${root}_${n++}`
    const steps = stepsFor(ipc)
    await c.seed?.(ipc, p, steps)
    const reply = await c.run(steps, p).then(
      (value) => normalize(value === undefined ? null : value, p),
      (error: {name: string; key?: string}) => ({error: error.name, key: normalize(error.key, p)}),
    )
    return {reply, keys: await dump(ipc, p)}
  }

  it('covers every step of the contract', () => {
    const covered = new Set(CASES.map((c) => c.name.slice(0, c.name.indexOf(':'))))
    expect([...covered].sort()).toEqual(Object.keys(stepsFor(drivers.memory)).sort())
  })

  for (const c of CASES) {
    it(c.name, async () => {
      const memory = await runOn(drivers.memory, c)
      const redis = await runOn(drivers.redis, c)
      expect(redis.reply, 'the reply on redis').toEqual(memory.reply)
      expect(redis.keys, 'every key on redis').toEqual(memory.keys)
      if ('reply' in c) expect(memory.reply).toEqual(c.reply)
      for (const [key, expected] of Object.entries(c.keys ?? {})) {
        if (expected === undefined) expect(memory.keys, key).not.toHaveProperty([key])
        else expect(memory.keys[key], key).toEqual(expected)
      }
    })
  }
})
