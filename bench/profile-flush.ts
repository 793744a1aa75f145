/**
 * Profiling aid: one flush of N pending counter deltas (memory driver) into a dialect.
 * Usage: node --import tsx [--cpu-prof] bench/profile-flush.ts sqlite|postgres|mysql [N]
 */
import {mkdtempSync, writeFileSync} from 'node:fs'
import {Session} from 'node:inspector'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import knexFactory from 'knex'

import {createWriteBuffer} from '../dist/core/buffer/write-buffer.js'
import {resolveConnection} from '../dist/core/config/connections.js'

const dialect = process.argv[2] ?? 'sqlite'
const count = Number(process.argv[3] ?? 100_000)
const dir = mkdtempSync(join(tmpdir(), 'wbc-prof-'))
const url =
  dialect === 'sqlite'
    ? `sqlite:${join(dir, 'p.sqlite')}`
    : dialect === 'postgres'
      ? (process.env.WBC_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test')
      : (process.env.WBC_TEST_MYSQL_URL ?? 'mysql://root@127.0.0.1:3306/test')
const table = `pflush${process.pid}`
const db = knexFactory({...resolveConnection('p', url).knex, pool: dialect === 'sqlite' ? {min: 1, max: 1} : {min: 0, max: 4}})
await db.schema.createTable(table, (t) => {
  t.integer('id').primary()
  t.integer('views').notNullable().defaultTo(0)
})
for (let i = 0; i < count; i += 500) await db(table).insert(Array.from({length: Math.min(500, count - i)}, (_, j) => ({id: i + j + 1})))
const wb = await createWriteBuffer({ipc: {driver: 'memory', prefix: table, socket: join(dir, 's.sock')}, connections: {default: url}}, {timers: false, serveSocket: false, checkpoint: false})
for (let i = 0; i < count; i += 1000)
  await Promise.all(
    Array.from({length: 1000}, (_, j) =>
      wb
        .table(table)
        .where(i + j + 1)
        .increment('views'),
    ),
  )
// PROFILE=path writes a CPU profile of the flush alone.
const session = process.env.PROFILE ? new Session() : undefined
const post = (method: string, params?: object) => new Promise<unknown>((resolve, reject) => session!.post(method, params ?? {}, (error, result) => (error ? reject(error) : resolve(result))))
if (session) {
  session.connect()
  await post('Profiler.enable')
  await post('Profiler.start')
}
const t0 = Date.now()
const events: string[] = []
if (process.env.TRACE) {
  const claim = wb.steps.claim.bind(wb.steps)
  wb.steps.claim = async (...args) => {
    const s = Date.now() - t0
    const r = await claim(...args)
    events.push(`claim ${s}-${Date.now() - t0}`)
    return r
  }
  const ack = wb.steps.ack.bind(wb.steps)
  wb.steps.ack = async (...args) => {
    events.push(`ack at ${Date.now() - t0}`)
    return ack(...args)
  }
}
const start = process.hrtime.bigint()
const report = await wb.flush()
if (process.env.TRACE) console.log(events.join('\n'))
const seconds = Number(process.hrtime.bigint() - start) / 1e9
if (session) writeFileSync(process.env.PROFILE!, JSON.stringify(((await post('Profiler.stop')) as {profile: unknown}).profile))
await wb.close()
const [{sum}] = await db(table).sum({sum: 'views'})
await db.schema.dropTable(table)
await db.destroy()
console.log(JSON.stringify({dialect, count, seconds, status: report.status, exact: Number(sum) === count}))
