/**
 * Profiling aid: the SQL side of a flush alone — `applyEntries` over N entries in batches of
 * 5,000, one transaction per batch, without the state's claim and ack — for counters with one
 * spelling per row, counters whose rows are spelled twice (the aggregated path), and queued rows.
 * Usage: node --import tsx bench/profile-apply.ts sqlite|postgres|mysql [N]
 */
import {mkdtempSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import knexFactory from 'knex'

import type {Entry} from '../dist/core/buffer/entries.js'
import {resolveConnection} from '../dist/core/config/connections.js'
import {applyEntries} from '../dist/core/sql/apply.js'

const dialect = (process.argv[2] ?? 'sqlite') as 'sqlite' | 'postgres' | 'mysql'
const count = Number(process.argv[3] ?? 100_000)
const url =
  dialect === 'sqlite'
    ? `sqlite:${join(mkdtempSync(join(tmpdir(), 'wbc-apply-')), 'p.sqlite')}`
    : dialect === 'postgres'
      ? (process.env.WBC_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test')
      : (process.env.WBC_TEST_MYSQL_URL ?? 'mysql://root@127.0.0.1:3306/test')
const [table, log] = [`papply${process.pid}`, `papplylog${process.pid}`]
const db = knexFactory({...resolveConnection('p', url).knex, pool: dialect === 'sqlite' ? {min: 1, max: 1} : {min: 0, max: 4}})
await db.schema.createTable(table, (t) => {
  t.integer('id').primary()
  t.integer('views').notNullable().defaultTo(0)
})
await db.schema.createTable(log, (t) => {
  t.increments('id')
  t.integer('user_id').notNullable()
  t.string('action', 20).notNullable()
})
for (let i = 0; i < count; i += 500) await db(table).insert(Array.from({length: Math.min(500, count - i)}, (_, j) => ({id: i + j + 1})))

/** Seconds to apply the entries in batches of 5,000, a transaction each. */
async function applied(entries: Entry[]): Promise<number> {
  const start = process.hrtime.bigint()
  for (let i = 0; i < entries.length; i += 5000) await db.transaction((trx) => applyEntries(trx, dialect, entries[i].kind === 'insert' ? log : table, entries.slice(i, i + 5000), 1000, db))
  return Number(process.hrtime.bigint() - start) / 1e9
}
const ids = Array.from({length: count}, (_, i) => i + 1)
const counters = (spell: (id: number) => string | number): Entry[] => ids.map((id) => ({kind: 'counter', members: [], where: {id: spell(id)}, deltas: {views: 1}}))
// One spelling per row (as `where(id)` writes them), then every other row spelled twice within its batch.
const plain = await applied(counters(String))
const twice = counters(String).map((entry, i): Entry => (i % 2 === 1 && entry.kind === 'counter' ? {...entry, where: {id: `0${ids[i - 1]}`}} : entry))
const aggregated = await applied(twice)
const inserts = await applied(ids.map((id) => ({kind: 'insert', row: {user_id: id, action: 'view'}})))
const [{sum}] = await db(table).sum({sum: 'views'})
const [{rows}] = await db(log).count({rows: '*'})
await db.schema.dropTable(table)
await db.schema.dropTable(log)
await db.destroy()
const rate = (s: number) => Math.round(count / s)
console.log(JSON.stringify({dialect, count, plainCounters: rate(plain), aggregatedCounters: rate(aggregated), inserts: rate(inserts), exact: Number(sum) === 2 * count && Number(rows) === count}))
