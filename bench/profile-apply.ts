/**
 * Profiling aid: the SQL side of a flush alone — `applyEntries` over N entries in batches of
 * 5,000, one transaction per batch, without the state's claim and ack — for counters with one
 * spelling per row, counters whose rows are spelled twice (the aggregated path), and queued rows;
 * next to the bare set-based statements for the same work (`bareCounters`: one UPDATE from a
 * derived table of integer keys and deltas; `bareInserts`: multi-row INSERTs of 1,000 rows), in
 * the same batches and transactions, and the ratios wbc/bare.
 * Usage: [WARM=1] node --import tsx bench/profile-apply.ts sqlite|postgres|mysql [N]
 */
import {mkdtempSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import knexFactory from 'knex'

import type {Entry} from '../dist/core/buffer/entries.js'
import {resolveConnection} from '../dist/core/config/connections.js'
import {applyEntries} from '../dist/core/sql/apply.js'

const dialect = (process.argv[2] ?? 'sqlite') as 'sqlite' | 'postgres' | 'mysql'
const total = Number(process.argv[3] ?? 100_000)
const url =
  dialect === 'sqlite'
    ? `sqlite:${join(mkdtempSync(join(tmpdir(), 'wbc-apply-')), 'p.sqlite')}`
    : dialect === 'postgres'
      ? (process.env.WBC_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test')
      : (process.env.WBC_TEST_MYSQL_URL ?? 'mysql://root@127.0.0.1:3306/test')
const db = knexFactory({...resolveConnection('p', url).knex, pool: dialect === 'sqlite' ? {min: 1, max: 1} : {min: 0, max: 4}})
const q = (name: string) => (dialect === 'mysql' ? `\`${name}\`` : `"${name}"`)

/**
 * This process's CPU time (user + system, ms) per batch of 5,000 for each phase: the JavaScript
 * side (wbc, knex, the driver), which other load on the machine disturbs less than the wall time.
 */
let cpu: Record<string, number> = {}

/** Every phase over `count` rows of fresh tables `stem` and `stem`log. */
async function measure(stem: string, count: number) {
  const [table, log] = [stem, `${stem}log`]
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
  cpu = {}
  const batches = Math.ceil(count / 5000)
  async function timed(name: string, work: () => Promise<void>): Promise<number> {
    const [start, used] = [process.hrtime.bigint(), process.cpuUsage()]
    await work()
    const {user, system} = process.cpuUsage(used)
    cpu[name] = Math.round((user + system) / 100 / batches) / 10
    return Number(process.hrtime.bigint() - start) / 1e9
  }

  /** Seconds to apply the entries in batches of 5,000, a transaction each. */
  async function applied(entries: Entry[], name: string): Promise<number> {
    return timed(name, async () => {
      for (let i = 0; i < entries.length; i += 5000) await db.transaction((trx) => applyEntries(trx, dialect, entries[i].kind === 'insert' ? log : table, entries.slice(i, i + 5000), 1000, db))
    })
  }
  const ids = Array.from({length: count}, (_, i) => i + 1)
  const counters = (spell: (id: number) => string | number): Entry[] => ids.map((id) => ({kind: 'counter', members: [], where: {id: spell(id)}, deltas: {views: 1}}))
  // One spelling per row (as `where(id)` writes them), then every other row spelled twice within its batch.
  const plain = await applied(counters(String), 'plainCounters')
  const twice = counters(String).map((entry, i): Entry => (i % 2 === 1 && entry.kind === 'counter' ? {...entry, where: {id: `0${ids[i - 1]}`}} : entry))
  const aggregated = await applied(twice, 'aggregatedCounters')
  const inserts = await applied(
    ids.map((id) => ({kind: 'insert', row: {user_id: id, action: 'view'}})),
    'inserts',
  )

  /** Seconds to run `statement(batch)` for each batch of 5,000 ids, a transaction each. */
  async function bare(name: string, statement: (batch: number[]) => Array<[string, unknown[]]>): Promise<number> {
    return timed(name, async () => {
      for (let i = 0; i < ids.length; i += 5000) {
        const statements = statement(ids.slice(i, i + 5000))
        await db.transaction(async (trx) => {
          for (const [sql, bindings] of statements) await trx.raw(sql, bindings as never[])
        })
      }
    })
  }
  const bareCounters = await bare('bareCounters', (batch) => {
    if (dialect === 'postgres') return [[`UPDATE ${q(table)} AS t SET views = t.views + v.d FROM unnest(?::integer[], ?::integer[]) AS v(k, d) WHERE t.id = v.k`, [batch, batch.map(() => 1)]]]
    const out: Array<[string, unknown[]]> = []
    for (let i = 0; i < batch.length; i += 1000) {
      const part = batch.slice(i, i + 1000)
      const derived =
        dialect === 'sqlite' ? `(SELECT column1 AS k, column2 AS d FROM (VALUES ${part.map(() => '(?, ?)').join(', ')}))` : `(SELECT ? AS k, ? AS d${' UNION ALL SELECT ?, ?'.repeat(part.length - 1)})`
      const sql =
        dialect === 'sqlite'
          ? `UPDATE ${q(table)} AS t SET views = t.views + v.d FROM ${derived} AS v WHERE t.id = v.k`
          : `UPDATE ${q(table)} AS t JOIN ${derived} AS v ON t.id = v.k SET t.views = t.views + v.d`
      out.push([sql, part.flatMap((id) => [id, 1])])
    }
    return out
  })
  const bareInserts = await bare('bareInserts', (batch) => {
    const out: Array<[string, unknown[]]> = []
    for (let i = 0; i < batch.length; i += 1000) {
      const part = batch.slice(i, i + 1000)
      out.push([`INSERT INTO ${q(log)} (user_id, action) VALUES ${part.map(() => '(?, ?)').join(', ')}`, part.flatMap((id) => [id, 'view'])])
    }
    return out
  })
  const [{sum}] = await db(table).sum({sum: 'views'})
  await db(log).where('id', '>', count).delete()
  const [{rows}] = await db(log).count({rows: '*'})
  await db.schema.dropTable(table)
  await db.schema.dropTable(log)
  const rate = (s: number) => Math.round(count / s)
  const ratio = (wbc: number, reference: number) => Math.round((100 * reference) / wbc) / 100
  return {
    dialect,
    count,
    plainCounters: rate(plain),
    aggregatedCounters: rate(aggregated),
    bareCounters: rate(bareCounters),
    inserts: rate(inserts),
    bareInserts: rate(bareInserts),
    plainOfBare: ratio(plain, bareCounters),
    insertsOfBare: ratio(inserts, bareInserts),
    exact: Number(sum) === 3 * count && Number(rows) === count,
    cpuMsPerBatch: cpu,
  }
}

// WARM=1: the phases run once untimed on tables of their own first, so the figures are of warm
// code, as in a flusher that has been running (the first batches otherwise pay for compiling).
if (process.env.WARM === '1') await measure(`papplyw${process.pid}`, total)
console.log(JSON.stringify({...(await measure(`papply${process.pid}`, total)), warm: process.env.WARM === '1'}))
await db.destroy()
