/**
 * Profiling aid: N increments from C concurrent callers through the engine (flushes included),
 * printing inc/s. Usage: node --import tsx [--cpu-prof] bench/profile-increments.ts memory|redis [N] [C]
 */
import {mkdtempSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import knexFactory from 'knex'

import {createWriteBuffer} from '../dist/core/buffer/write-buffer.js'
import {resolveConnection} from '../dist/core/config/connections.js'

const driver = (process.argv[2] ?? 'memory') as 'memory' | 'redis'
const total = Number(process.argv[3] ?? 200_000)
const concurrency = Number(process.argv[4] ?? 64)
const pg = process.env.WBC_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test'
const table = `prof${process.pid}`
const db = knexFactory(resolveConnection('p', pg).knex)
await db.schema.createTable(table, (t) => {
  t.integer('id').primary()
  t.integer('views').notNullable().defaultTo(0)
})
for (let i = 0; i < 1000; i += 500) await db(table).insert(Array.from({length: 500}, (_, j) => ({id: i + j + 1})))
const dir = mkdtempSync(join(tmpdir(), 'wbc-prof-'))
const prefix = `prof${process.pid}`
const wb = await createWriteBuffer(
  {
    ipc: driver === 'redis' ? {driver, redis: process.env.WBC_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379', prefix} : {driver, prefix, socket: join(dir, 's.sock')},
    connections: {default: pg},
    buffer: {flushInterval: 1000, checkpointPath: join(dir, 'cp.lmdb')},
  },
  {serveSocket: false},
)
const start = process.hrtime.bigint()
let next = 0
await Promise.all(
  Array.from({length: concurrency}, async () => {
    while (next < total) {
      const i = next++
      await wb
        .table(table)
        .where((i % 1000) + 1)
        .increment('views')
    }
  }),
)
await wb.close()
const seconds = Number(process.hrtime.bigint() - start) / 1e9
const [{sum}] = await db(table).sum({sum: 'views'})
await db.schema.dropTable(table)
await db.destroy()
console.log(JSON.stringify({driver, total, concurrency, incPerSecond: Math.round(total / seconds), exact: Number(sum) === total}))
