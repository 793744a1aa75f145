/**
 * Profiling aid (#16): one flush of N pending counters on the redis driver, one per row, their
 * bases cached by the increments that made them, into PostgreSQL; and, in the same run, the
 * set-based limit it is measured against (one `UPDATE … FROM unnest($1::int[], $2::int[])` of N
 * rows, best of three). KIND=inserts: N queued rows of two columns instead, measured against one
 * `INSERT … SELECT FROM unnest(…)` of N rows.
 * Usage: [TRACE=1] [KIND=inserts] node --import tsx bench/profile-redis-flush.ts [N] [runs]
 * TRACE=1 prints when each claim, transaction and ack ran (ms since the flush started);
 * PROFILE=path writes a CPU profile of the (last) flush alone.
 */
import {writeFileSync} from 'node:fs'
import {Session} from 'node:inspector'

import knexFactory from 'knex'

import {stepsFor} from '../src/core/buffer/steps/index.js'
import {createWriteBuffer} from '../src/core/buffer/write-buffer.js'
import {resolveConnection} from '../src/core/config/connections.js'

const count = Number(process.argv[2] ?? 100_000)
const runs = Number(process.argv[3] ?? 1)
const url = process.env.WBC_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test'
const redisUrl = process.env.WBC_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379'
const table = `prflush${process.pid}`
const db = knexFactory({...resolveConnection('p', url).knex, pool: {min: 0, max: 4}})
const inserts = process.env.KIND === 'inserts'
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]

/** Rows per second of one set-based counter UPDATE of every row (the limit), best of three. */
async function unnestLimit(): Promise<number> {
  const ids = Array.from({length: count}, (_, i) => i + 1)
  const deltas = ids.map(() => 1)
  let best = Infinity
  for (let i = 0; i < 3; i++) {
    const start = process.hrtime.bigint()
    if (inserts) await db.raw(`INSERT INTO ?? (user_id, action) SELECT * FROM unnest(?::int[], ?::text[])`, [table, ids, ids.map(() => 'view')])
    else await db.raw(`UPDATE ?? AS t SET views = t.views + u.d FROM unnest(?::int[], ?::int[]) AS u(id, d) WHERE t.id = u.id`, [table, ids, deltas])
    best = Math.min(best, Number(process.hrtime.bigint() - start) / 1e9)
  }
  return count / best
}

/** Redis's own time per command (INFO commandstats), for STATS=1: what the flush costs the server. */
async function commandStats(): Promise<Map<string, {calls: number; usec: number}>> {
  const {Redis} = await import('ioredis')
  const client = new Redis(redisUrl)
  const text = (await client.info('commandstats')) as string
  client.disconnect()
  const stats = new Map<string, {calls: number; usec: number}>()
  for (const m of text.matchAll(/cmdstat_(\S+):calls=(\d+),usec=(\d+)/g)) stats.set(m[1], {calls: Number(m[2]), usec: Number(m[3])})
  return stats
}

function printStatsDelta(before: Map<string, {calls: number; usec: number}>, after: Map<string, {calls: number; usec: number}>): void {
  const rows = [...after].map(([name, a]) => ({name, calls: a.calls - (before.get(name)?.calls ?? 0), usec: a.usec - (before.get(name)?.usec ?? 0)})).filter((r) => r.calls > 0)
  for (const r of rows.sort((x, y) => y.usec - x.usec)) console.log(`${r.name.padEnd(16)} calls=${String(r.calls).padStart(7)} usec=${String(r.usec).padStart(8)} per=${(r.usec / r.calls).toFixed(2)}`)
}

const results: Array<{flush: number; limit: number}> = []
for (let run = 0; run < runs; run++) {
  await db.schema.dropTableIfExists(table)
  await db.schema.createTable(table, (t) => {
    if (inserts) {
      t.increments('id')
      t.integer('user_id').notNullable()
      t.string('action', 40).notNullable()
    } else {
      t.integer('id').primary()
      t.integer('views').notNullable().defaultTo(0)
    }
  })
  if (!inserts) for (let i = 0; i < count; i += 5000) await db(table).insert(Array.from({length: Math.min(5000, count - i)}, (_, j) => ({id: i + j + 1})))
  const prefix = `${table}r${run}`
  const events: string[] = []
  let t0 = 0
  const applyStarts: number[] = []
  // TRACE: each transaction's start and commit, from the flush's progress.
  const onProgress = (p: {step: string}) => {
    if (!t0) return
    if (p.step === 'apply') applyStarts.push(performance.now() - t0)
    if (p.step === 'applied') events.push(`apply ${applyStarts.shift()?.toFixed(0)}-${(performance.now() - t0).toFixed(0)}`)
  }
  const wb = await createWriteBuffer(
    {ipc: {driver: 'redis', prefix, redis: redisUrl}, connections: {default: url}},
    {timers: false, serveSocket: false, checkpoint: false, ...(process.env.BATCH ? {batchSize: Number(process.env.BATCH)} : {}), ...(process.env.TRACE ? {onProgress} : {})},
  )
  for (let i = 0; i < count; i += 1000)
    await Promise.all(
      Array.from({length: Math.min(1000, count - i)}, (_, j) =>
        inserts
          ? wb.table(table).insert({user_id: i + j, action: 'view'})
          : wb
              .table(table)
              .where(i + j + 1)
              .increment('views'),
      ),
    )
  t0 = performance.now()
  if (process.env.TRACE) {
    const steps = stepsFor(wb.ipc)
    const claim = steps.claim.bind(steps)
    steps.claim = async (...args) => {
      const s = performance.now() - t0
      const r = await claim(...args)
      events.push(`claim ${s.toFixed(0)}-${(performance.now() - t0).toFixed(0)} (${(r.batch?.counters.length ?? 0) + (r.batch?.inserts.length ?? 0)} rows)`)
      return r
    }
    const ack = steps.ack.bind(steps)
    steps.ack = async (...args) => {
      const s = performance.now() - t0
      const r = await ack(...args)
      events.push(`ack ${s.toFixed(0)}-${(performance.now() - t0).toFixed(0)}`)
      return r
    }
  }
  const session = process.env.PROFILE ? new Session() : undefined
  const post = (method: string) => new Promise<unknown>((resolve, reject) => session!.post(method, {}, (error, result) => (error ? reject(error) : resolve(result))))
  if (session) {
    session.connect()
    await post('Profiler.enable')
    await post('Profiler.start')
  }
  const statsBefore = process.env.STATS ? await commandStats() : undefined
  const start = process.hrtime.bigint()
  const report = await wb.flush()
  const seconds = Number(process.hrtime.bigint() - start) / 1e9
  if (statsBefore) printStatsDelta(statsBefore, await commandStats())
  if (session) writeFileSync(process.env.PROFILE!, JSON.stringify(((await post('Profiler.stop')) as {profile: unknown}).profile))
  if (process.env.TRACE) console.log(events.join('\n'))
  await wb.close()
  const [{sum}] = inserts ? await db(table).count({sum: '*'}) : await db(table).sum({sum: 'views'})
  if (Number(sum) !== count || report.status !== 'ok') throw new Error(`wrong total ${sum} (status ${report.status})`)
  const limit = await unnestLimit()
  results.push({flush: count / seconds, limit})
  console.log(
    JSON.stringify({
      run,
      count,
      seconds: Number(seconds.toFixed(3)),
      flushRowsPerSecond: Math.round(count / seconds),
      unnestRowsPerSecond: Math.round(limit),
      ratio: Number((count / seconds / limit).toFixed(3)),
    }),
  )
}
await db.schema.dropTable(table)
await db.destroy()
if (runs > 1) {
  const flush = median(results.map((r) => r.flush))
  const limit = median(results.map((r) => r.limit))
  console.log(JSON.stringify({median: {flushRowsPerSecond: Math.round(flush), unnestRowsPerSecond: Math.round(limit), ratio: Number(median(results.map((r) => r.flush / r.limit)).toFixed(3))}}))
}
