import {randomUUID} from 'node:crypto'

import {CorruptValue} from '../../errors.js'
import {finiteNumber} from '../../ipc/finite-number.js'
import type {Ipc, ScriptHost} from '../../ipc/types.js'
import {KeySpace} from '../keys.js'
import {decodeBatch, emptyArray} from './batch-format.js'
import type {BufferSteps, CounterReading, RowsSetAside} from './contract.js'
import {incrementAnswer, IncrementBatcher, type QueuedIncrement} from './increment-batch.js'
import {stepLua} from './lua.js'
import {readBatch} from './read-batch.js'

/** The steps that are a Lua script on Redis, with the number of KEYS each takes (the rest of its arguments are ARGV). */
const SCRIPTS = {
  increment: 1,
  update: 5,
  insert: 4,
  claim: 9,
  setAsideRows: 3,
  quarantine: 4,
  ack: 2,
  readCounter: 4,
  requeue: 1,
  compactChunk: 1,
  settleAge: 1,
  cacheBase: 4,
} as const

type ScriptName = keyof typeof SCRIPTS

/** The script a step runs as on the connection: `increment` → `wbcIncrement`, from `lua/increment.lua`. */
const scriptName = (step: ScriptName) => `wbc${step[0].toUpperCase()}${step.slice(1)}`

/** Each script's source, expanded once per process. */
let sources: Array<[string, number, string]> | undefined

/** `{connection}:{table}` of a member. */
const tableOf = (member: string) => member.slice(0, member.indexOf(':', member.indexOf(':') + 1))

/** The sum of in-flight deltas a step sends as one string joined with "," (added here: exact doubles, not Lua's 14 digits). */
const sumDeltas = (joined: string | number | null | undefined) => {
  let total = 0
  if (joined) for (const delta of String(joined).split(',')) total += Number(delta)
  return total
}

/**
 * The steps on Redis: each adapter builds the KEYS and ARGV its script expects (in the order the
 * comment at the top of the .lua file lists them) and reads its reply back into the contract's shape.
 */
export function redisSteps(ipc: Ipc, scripts: ScriptHost): BufferSteps {
  sources ??= (Object.keys(SCRIPTS) as ScriptName[]).map((step) => [scriptName(step), SCRIPTS[step], stepLua(step)])
  for (const [name, keys, lua] of sources) scripts.define(name, keys, lua)
  const run = <T>(step: ScriptName, args: Array<string | number>, key: string, expected?: string) => scripts.run<T>(scriptName(step), args, key, expected)

  /** One script call for a batch of increments; each caller gets its own answer or error. */
  const sendIncrements = async (prefix: string, batch: QueuedIncrement[]): Promise<void> => {
    const k = KeySpace.of(prefix)
    const tables = new Map<string, number>()
    // KEYS[1] counter index; ARGV: now, prefix, n, then (delta, member, table number) per increment, then the tables.
    const args: Array<string | number> = [k.countersIndex, Date.now(), k.prefix, batch.length]
    for (const item of batch) {
      const table = tableOf(item.member)
      let t = tables.get(table)
      if (t === undefined) tables.set(table, (t = tables.size + 1))
      args.push(item.delta, item.member, t)
    }
    args.push(...tables.keys())
    let reply: Array<string | number | null | string[]>
    try {
      reply = await run<Array<string | number | null | string[]>>('increment', args, k.counter(batch[0].member), 'number')
    } catch (error) {
      for (const item of batch) item.reject(error)
      return
    }
    // Five items per increment: 1, live, base or false, in-flight deltas, the reading when no base is
    // cached (else false); or 0, the error message, false, false, false.
    for (let i = 0; i < batch.length; i++) {
      const [ok, live, base, inflight, reading] = reply.slice(5 * i, 5 * i + 5)
      if (ok === 1) batch[i].resolve(incrementAnswer(Number(live), finiteNumber(base as string | null), sumDeltas(inflight as string | null), reading as string[] | null))
      else batch[i].reject(await scripts.error(k.counter(batch[i].member), String(live), 'number'))
    }
  }
  // Calls of 16 overlap best (Redis runs one while the next is built), sent on the next turn.
  const increments = new IncrementBatcher(sendIncrements, {maxBatch: 16, schedule: setImmediate})

  return {
    increment: (prefix, member, delta) => increments.add(prefix, member, delta),
    update: async (prefix, member, fields) => {
      const k = KeySpace.of(prefix)
      const flat = Object.entries(fields).flatMap(([field, value]) => [field, JSON.stringify(value)])
      const table = tableOf(member)
      // KEYS: the row's hash, update index, age, stats, update times; ARGV: member, now, field, JSON value, …
      await run('update', [k.update(member), k.updatesIndex, k.age(table), k.stats(table), k.updateTimes(table), member, Date.now(), ...flat], member, 'hash')
    },
    insert: async (prefix, table, rows) => {
      const k = KeySpace.of(prefix)
      // KEYS: queue, queue index, age, stats; ARGV: table member, now, rows as JSON.
      return run<number>('insert', [k.queue(table), k.queuesIndex, k.age(table), k.stats(table), table, Date.now(), ...rows.map((row) => JSON.stringify(row))], table, 'list')
    },
    claim: async (prefix, request) => {
      const k = KeySpace.of(prefix)
      // KEYS: the four indexes (counters, updates, queues, in flight), the batch, the table's generation, its queue, the flush fence, the flush lease;
      // ARGV: prefix, batch id, created at, table, most rows, then N and N counter members, then M and M update members, then the lease token or "".
      const raw = await run<string | null>(
        'claim',
        [
          k.countersIndex,
          k.updatesIndex,
          k.queuesIndex,
          k.inflightIndex,
          k.batch(request.batchId),
          k.generation(request.table),
          k.queue(request.table),
          k.flushFence,
          k.flushLock,
          prefix,
          request.batchId,
          request.createdAt,
          request.table,
          request.maxInserts,
          request.counters.length,
          ...request.counters,
          request.updates.length,
          ...request.updates,
          request.lease ?? '',
        ],
        request.table,
      )
      if (!raw) return {batch: null, quarantined: []}
      const answer = JSON.parse(raw) as {empty?: boolean; quarantined?: unknown; mark?: unknown; leaseLost?: unknown}
      if (answer.leaseLost === true) return {batch: null, quarantined: [], leaseLost: true}
      const quarantined = emptyArray<[string, string]>(answer.quarantined).map(([key, reason]) => ({key, reason}))
      const batch = answer.empty ? null : decodeBatch(answer, undefined, undefined, {rows: false})
      return typeof answer.mark === 'number' ? {batch, quarantined, mark: answer.mark} : {batch, quarantined}
    },
    setAsideRows: async (prefix, batchId, table, rows) => {
      const k = KeySpace.of(prefix)
      // KEYS: the batch, the table's bad rows, the bad-key index; ARGV: table, now, row count, reason, positions.
      const raw = await run<string | null>('setAsideRows', [k.batch(batchId), k.bad(`q:${table}`), k.badIndex, table, Date.now(), rows.count, rows.reason, ...rows.positions], k.batch(batchId))
      return raw ? (JSON.parse(raw) as RowsSetAside) : null
    },
    quarantine: async (prefix, kind, member, reason) => {
      const k = KeySpace.of(prefix)
      // KEYS: the member's index, its key, where it goes, the bad index; ARGV: member, {kind}:{member}, reason, now.
      await run('quarantine', [k.indexOf(kind), k.pending(kind, member), k.bad(`${kind}:${member}`), k.badIndex, member, `${kind}:${member}`, reason, Date.now()], member)
    },
    ack: async (prefix, batchId, deadMembers) => {
      const k = KeySpace.of(prefix)
      // KEYS: the batch, the in-flight index; ARGV: prefix, batch id, now, dead-lettered members.
      return (await run<number>('ack', [k.batch(batchId), k.inflightIndex, prefix, batchId, Date.now(), ...deadMembers], k.batch(batchId))) === 1
    },
    readCounter: async (prefix, member): Promise<CounterReading> => {
      const k = KeySpace.of(prefix)
      // KEYS: live delta, cached base, in-flight index, the table's generation; ARGV: prefix, member.
      const [live, base, flat, generation] = await run<[string | null, string | null, string[], string | null]>(
        'readCounter',
        [k.counter(member), k.base(member), k.inflightIndex, k.generation(tableOf(member)), prefix, member],
        k.counter(member),
      )
      const inflight: Record<string, number> = {}
      for (let i = 0; i < flat.length; i += 2) inflight[flat[i]] = Number(flat[i + 1])
      return {live: Number(live ?? 0), base: finiteNumber(base), inflight, generation: generation ?? '0'}
    },
    requeue: async (prefix, table, id, entry) => {
      const k = KeySpace.of(prefix)
      for (const [member, delta] of entry.kind === 'counter' ? entry.deltas : []) {
        // As the memory step refuses it (String() would send "NaN", or a string that happens to parse).
        if (typeof delta !== 'number' || !Number.isFinite(delta)) throw new CorruptValue(`${k.deadLetters(table)} (field ${id})`, `delta ${String(delta)} of ${member} is not a number`)
      }
      const payload: Array<string | number> =
        entry.kind === 'counter'
          ? entry.deltas.flat()
          : entry.kind === 'update'
            ? [entry.member, ...Object.entries(entry.fields).flatMap(([field, value]) => [field, JSON.stringify(value)])]
            : [JSON.stringify(entry.row)]
      // KEYS: the table's dead letters; ARGV: prefix, dead letter id, kind, now, table, then the entry (see requeue.lua).
      return (await run<number>('requeue', [k.deadLetters(table), prefix, id, entry.kind, Date.now(), table, ...payload], table)) === 1
    },
    // KEYS: the list; ARGV: position, SHA-1 of the chunk, keep mask, a tombstone no entry can equal.
    compactChunk: async (key, position, sha, mask) => run<number>('compactChunk', [key, position, sha, mask, `\u0000wbc-tombstone-${randomUUID()}`], key, 'list'),
    settleAge: async (prefix, table, flushStart) => {
      // KEYS: the table's age; ARGV: flush start.
      await run('settleAge', [KeySpace.of(prefix).age(table), flushStart], table)
    },
    cacheBase: async (prefix, member, generation, base, ttlMs) => {
      const k = KeySpace.of(prefix)
      // KEYS: the table's generation, cached base, live delta, in-flight index; ARGV: generation seen, base, ttl, prefix, member.
      const [cached, live, inflight] = await run<[number, string?, string?]>(
        'cacheBase',
        [k.generation(tableOf(member)), k.base(member), k.counter(member), k.inflightIndex, generation, base, ttlMs, prefix, member],
        k.counter(member),
      )
      return {cached: cached === 1, live: Number(live ?? 0), inflight: sumDeltas(inflight)}
    },
    readBatch: (prefix, batchId, check) => readBatch(ipc, prefix, batchId, check),
  }
}
