import {execFileSync, spawnSync} from 'node:child_process'
import {mkdtempSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {Redis} from 'ioredis'

import {createWriteBuffer} from '../dist/core/buffer/write-buffer.js'
import {parseConfig} from '../dist/core/config/load.js'
import {createIpc} from '../dist/core/ipc/create.js'
import {derivedRows, quote} from '../dist/core/sql/statements.js'
import {bin, callers, cleanRedis, copyRows, n, openDb, postsTable, seconds, tag, type BenchContext, type BenchResult} from './helpers.js'
import {odacWorkloads} from './odac-workloads.js'
import {stepsFor} from '../dist/core/buffer/steps/index.js'

export type {BenchContext, BenchResult} from './helpers.js'

export const scenarios: Record<string, (ctx: BenchContext) => Promise<BenchResult[]>> = {
  /** 1 and 2: buffered increments (with their flushes) against direct UPDATEs, and Redis against its ceiling. */
  async writes(ctx) {
    const total = n(ctx, 200_000)
    const rows = 1000
    const table = `${tag}_posts`
    const db = openDb(ctx.postgres, 64)
    const results: BenchResult[] = []
    try {
      const direct: Record<number, number> = {}
      for (const c of [1, 8, 64]) {
        await postsTable(db, table, rows)
        // The direct path costs a round trip per increment: measured on a tenth, it is the same rate.
        const sample = Math.max(100, Math.round(total / 10))
        const s = await seconds(() => callers(sample, c, (i) => db.raw(`UPDATE "${table}" SET views = views + 1 WHERE id = ?`, [(i % rows) + 1])))
        direct[c] = sample / s
        results.push({scenario: '1 direct PostgreSQL', case: `${c} callers`, value: direct[c], unit: 'inc/s'})
      }
      let redisEngine64 = 0
      for (const driver of ['memory', 'redis'] as const) {
        for (const c of [1, 8, 64]) {
          await postsTable(db, table, rows)
          const prefix = `${tag}${driver}${c}`
          const dir = mkdtempSync(join(tmpdir(), 'wbc-bench-'))
          const wb = await createWriteBuffer(
            {
              ipc: driver === 'redis' ? {driver, redis: ctx.redis, prefix} : {driver, prefix, socket: join(dir, 's.sock')},
              connections: {default: ctx.postgres},
              buffer: {flushInterval: 1000, checkpointPath: join(dir, 'cp.lmdb')},
            },
            {serveSocket: false},
          )
          const s = await seconds(async () => {
            await callers(total, c, (i) =>
              wb
                .table(table)
                .where((i % rows) + 1)
                .increment('views'),
            )
            await wb.close() // The final flush is part of the work.
          })
          const [{sum}] = await db(table).sum({sum: 'views'})
          if (Number(sum) !== total) throw new Error(`${driver} ${c}: the database holds ${sum}, expected ${total}`)
          if (driver === 'redis') await cleanRedis(ctx.redis, prefix)
          const rate = total / s
          if (driver === 'redis' && c === 64) redisEngine64 = rate
          results.push({
            scenario: `1 engine (${driver}) vs direct`,
            case: `${c} callers, DB totals exact`,
            value: rate,
            unit: 'inc/s',
            baseline: {name: 'direct', value: direct[c]},
            ratio: rate / direct[c],
            ...(c === 64 ? {target: '>= 20x', met: rate / direct[c] >= 20} : {}),
          })
        }
      }
      // The Redis ceiling: raw pipelines of INCRBYFLOAT, 1,000 per pipeline, no Lua, no flush.
      const redis = new Redis(ctx.redis)
      const key = `${tag}:ceiling`
      const s = await seconds(async () => {
        for (let i = 0; i < total; i += 1000) {
          const pipeline = redis.pipeline()
          for (let j = i; j < Math.min(total, i + 1000); j++) pipeline.incrbyfloat(key, 1)
          await pipeline.exec()
        }
      })
      await redis.del(key)
      redis.disconnect()
      const ceiling = total / s
      results.push({
        scenario: '2 redis engine vs ceiling',
        case: '64 callers vs pipelined INCRBYFLOAT',
        value: redisEngine64,
        unit: 'inc/s',
        baseline: {name: 'ceiling', value: ceiling},
        ratio: redisEngine64 / ceiling,
        target: '>= 0.5',
        met: redisEngine64 / ceiling >= 0.5,
      })
    } finally {
      await db.schema.dropTableIfExists(table)
      await db.destroy()
    }
    return results
  },

  /** 3: one flush of 100,000 counter deltas (and of 100,000 queued rows) against the SQL limit and the naive way. */
  async flush(ctx) {
    const count = n(ctx, 100_000)
    const results: BenchResult[] = []
    const dir = mkdtempSync(join(tmpdir(), 'wbc-bench-'))
    const urls = {sqlite: `sqlite:${join(dir, 'bench.sqlite')}`, postgres: ctx.postgres, mysql: ctx.mysql}
    for (const [dialect, url] of Object.entries(urls) as Array<['sqlite' | 'postgres' | 'mysql', string]>) {
      const db = openDb(url, 4)
      const table = `${tag}_flush`
      const log = `${tag}_log`
      try {
        await postsTable(db, table, count)
        const ids = Array.from({length: count}, (_, i) => i + 1)
        const naive = await seconds(() =>
          db.transaction(async (trx) => {
            for (const id of ids)
              await trx(table)
                .where({id})
                .update({views: trx.raw('views + ?', [1])})
          }),
        )
        const limit = await seconds(() =>
          db.transaction(async (trx) => {
            for (let i = 0; i < count; i += 5000) {
              const chunk = ids.slice(i, i + 5000)
              // The plainest set-based statement: one UPDATE joined to the literal rows, no aggregation.
              const int = dialect === 'postgres' ? 'integer' : undefined
              const v = derivedRows(
                dialect,
                [
                  {alias: 'k0', cast: int},
                  {alias: 'c0', cast: int},
                ],
                chunk.map((id) => [id, 1]),
              )
              const [t, id, views] = [quote(dialect, table), quote(dialect, 'id'), quote(dialect, 'views')]
              const sql =
                dialect === 'mysql'
                  ? `UPDATE ${t} AS t JOIN ${v.sql} ON t.${id} = v.k0 SET t.${views} = t.${views} + v.c0`
                  : `UPDATE ${t} AS t SET ${views} = t.${views} + v.c0 FROM ${v.sql} WHERE t.${id} = v.k0`
              await trx.raw(sql, v.bindings as never[])
            }
          }),
        )
        // PostgreSQL: the same UPDATE over typed arrays (`unnest`), the faster set-based form there.
        const unnestLimit =
          dialect === 'postgres'
            ? await seconds(() =>
                db.transaction(async (trx) => {
                  for (let i = 0; i < count; i += 5000) {
                    const chunk = ids.slice(i, i + 5000)
                    await trx.raw(`UPDATE "${table}" AS t SET views = t.views + v.c0 FROM unnest(?::integer[], ?::integer[]) AS v(k0, c0) WHERE t.id = v.k0`, [chunk, chunk.map(() => 1)])
                  }
                }),
              )
            : 0
        const prefix = `${tag}${dialect}`
        const wb = await createWriteBuffer(
          {ipc: {driver: 'memory', prefix, socket: join(dir, `${dialect}.sock`)}, connections: {default: url}, buffer: {checkpointPath: join(dir, `${dialect}.lmdb`)}},
          {timers: false, serveSocket: false, checkpoint: false},
        )
        for (let i = 0; i < count; i += 1000) await Promise.all(ids.slice(i, i + 1000).map((id) => wb.table(table).where(id).increment('views')))
        const engine = await seconds(() => wb.flush())
        const [{sum}] = await db(table).sum({sum: 'views'})
        const expected = (dialect === 'postgres' ? 4 : 3) * count
        if (Number(sum) !== expected) throw new Error(`${dialect}: ${sum} != ${expected}`)
        results.push({
          scenario: `3 counter flush ${dialect}`,
          case: `${count} rows vs set-based limit`,
          value: engine,
          unit: 's',
          baseline: {name: 'limit', value: limit},
          ratio: engine / limit,
          target: '<= 1.5x',
          met: engine / limit <= 1.5,
        })
        if (dialect === 'postgres')
          results.push({
            scenario: `3 counter flush ${dialect}`,
            case: `${count} rows vs unnest limit`,
            value: engine,
            unit: 's',
            baseline: {name: 'unnest', value: unnestLimit},
            ratio: engine / unnestLimit,
            target: '<= 1.5x',
            met: engine / unnestLimit <= 1.5,
          })
        results.push({
          scenario: `3 counter flush ${dialect}`,
          case: `${count} rows vs naive per-row`,
          value: engine,
          unit: 's',
          baseline: {name: 'naive', value: naive},
          ratio: naive / engine,
          target: '>= 10x faster',
          met: naive / engine >= 10,
        })

        await db.schema.dropTableIfExists(log)
        await db.schema.createTable(log, (t) => {
          t.increments('id')
          t.integer('user_id').notNullable()
          t.string('action', 20).notNullable()
        })
        const rows = ids.map((i) => ({user_id: i, action: 'view'}))
        const multi = await seconds(() =>
          db.transaction(async (trx) => {
            for (let i = 0; i < count; i += 500) await trx(log).insert(rows.slice(i, i + 500))
          }),
        )
        const copy = dialect === 'postgres' ? await seconds(() => copyRows(db, `COPY "${log}" (user_id, action) FROM STDIN`, rows.map((r) => `${r.user_id}\t${r.action}\n`).join(''))) : 0
        for (let i = 0; i < count; i += 1000) await wb.table(log).insert(rows.slice(i, i + 1000))
        const engineInsert = await seconds(() => wb.flush())
        const [{c}] = await db(log).count({c: '*'})
        const inserted = (dialect === 'postgres' ? 3 : 2) * count
        if (Number(c) !== inserted) throw new Error(`${dialect}: ${c} rows != ${inserted}`)
        // Rates: the engine's insert rate as a share of COPY's (above 0.4 is the target).
        if (dialect === 'postgres')
          results.push({
            scenario: `3 insert flush ${dialect}`,
            case: `${count} rows: rate vs COPY`,
            value: count / engineInsert,
            unit: 'rows/s',
            baseline: {name: 'COPY', value: count / copy},
            ratio: copy / engineInsert,
            target: '>= 0.4x',
            met: copy / engineInsert >= 0.4,
          })
        results.push({
          scenario: `3 insert flush ${dialect}`,
          case: `${count} rows vs multi-row INSERTs`,
          value: engineInsert,
          unit: 's',
          baseline: {name: 'multi-row', value: multi},
          ratio: engineInsert / multi,
          target: '<= 1.5x',
          met: engineInsert / multi <= 1.5,
        })
        await wb.close()
      } finally {
        await db.schema.dropTableIfExists(table)
        await db.schema.dropTableIfExists(log)
        await db.destroy()
      }
    }
    return results
  },

  /** 4: the memory driver in-process, and from 2 cluster workers. */
  async memory(ctx) {
    const total = n(ctx, 200_000)
    const ipc = await createIpc(parseConfig({ipc: {driver: 'memory'}}).ipc, {role: 'primary', serveSocket: false})
    const inProcess = total / (await seconds(() => callers(total, 64, (i) => stepsFor(ipc).increment('bm', `default:posts:${i % 1000}:views`, 1))))
    await ipc.close()
    const out = execFileSync(process.execPath, ['--import', 'tsx', join(import.meta.dirname, 'cluster-increments.ts'), String(total)], {encoding: 'utf8'})
    const cluster = JSON.parse(out.trim()).rate as number
    return [
      {scenario: '4 memory driver', case: 'in-process, 64 callers', value: inProcess, unit: 'inc/s'},
      {scenario: '4 memory driver', case: '2 cluster workers x 64 callers', value: cluster, unit: 'inc/s', baseline: {name: 'in-process', value: inProcess}, ratio: cluster / inProcess},
    ]
  },

  /** 5: operator reads with 1,000,000 pending counter keys in Redis. */
  async reads(ctx) {
    const keys = n(ctx, 1_000_000, 1000)
    const prefix = `${tag}reads`
    const ipc = await createIpc(parseConfig({ipc: {driver: 'redis', redis: ctx.redis}}).ipc)
    try {
      for (let i = 0; i < keys; i += 2000) {
        await Promise.all(Array.from({length: Math.min(2000, keys - i)}, (_, j) => stepsFor(ipc).increment(prefix, `default:posts:${i + j}:views`, 1)))
      }
      const cwd = mkdtempSync(join(tmpdir(), 'wbc-bench-'))
      writeFileSync(join(cwd, 'wbc.config.json'), JSON.stringify({ipc: {driver: 'redis', redis: ctx.redis, prefix}}))
      const measure = (args: string[]) => {
        const start = Date.now()
        const run = spawnSync('/usr/bin/time', ['-f', '%M', process.execPath, bin, ...args], {cwd, encoding: 'utf8'})
        if (run.status !== 0) throw new Error(`wbc ${args.join(' ')} failed: ${run.stderr}`)
        return {seconds: (Date.now() - start) / 1000, rssMb: Number(run.stderr.trim().split('\n').pop()) / 1024}
      }
      const status = measure(['status', '--json'])
      const pending = measure(['pending', '--limit', '100', '--json'])
      return [
        {scenario: '5 operator reads', case: `status --json, ${keys} keys: time`, value: status.seconds, unit: 's', target: '< 5 s', met: status.seconds < 5},
        {scenario: '5 operator reads', case: `status --json, ${keys} keys: peak RSS`, value: status.rssMb, unit: 'MB', target: '< 300 MB', met: status.rssMb < 300},
        {scenario: '5 operator reads', case: `pending --limit 100: time`, value: pending.seconds, unit: 's', target: '< 0.5 s', met: pending.seconds < 0.5},
      ]
    } finally {
      await cleanRedis(ctx.redis, prefix)
      await ipc.close()
    }
  },

  /** 8: `wbc flush` of 1,000,000 queued inserts: peak memory must follow the batch size, not the queue. */
  async queue(ctx) {
    const big = n(ctx, 1_000_000, 10_000)
    const results: BenchResult[] = []
    const raw = new Redis(ctx.redis)
    const knex = openDb(ctx.postgres)
    const cwd = mkdtempSync(join(tmpdir(), 'wbc-bench-'))
    try {
      const peaks: Record<number, {rssMb: number; seconds: number}> = {}
      for (const rows of [big / 10, big]) {
        const prefix = `${tag}queue${rows}`
        const table = `${tag}_queue_${rows}`
        await knex.schema.dropTableIfExists(table)
        await knex.schema.createTable(table, (t) => {
          t.increments('id')
          t.integer('user_id').notNullable()
          t.string('action', 40).notNullable()
          t.integer('seq').notNullable()
        })
        // Loaded straight into the queue (as the engine's insert step stores rows), 10,000 per pipeline.
        for (let i = 0; i < rows; i += 10_000) {
          const chunk = Array.from({length: Math.min(10_000, rows - i)}, (_, j) => JSON.stringify({user_id: (i + j) % 997, action: 'view', seq: i + j}))
          await raw.rpush(`${prefix}:q:default:${table}`, ...chunk)
        }
        await raw.sadd(`${prefix}:idx:queues`, `default:${table}`)
        writeFileSync(join(cwd, 'wbc.config.json'), JSON.stringify({ipc: {driver: 'redis', redis: ctx.redis, prefix}, connections: {default: ctx.postgres}}))
        const start = Date.now()
        const run = spawnSync('/usr/bin/time', ['-f', '%M', process.execPath, bin, 'flush', '--json'], {cwd, encoding: 'utf8'})
        if (run.status !== 0) throw new Error(`wbc flush failed: ${run.stderr}`)
        peaks[rows] = {seconds: (Date.now() - start) / 1000, rssMb: Number(run.stderr.trim().split('\n').pop()) / 1024}
        const landed = Number((await knex(table).count({n: '*'}))[0].n)
        if (landed !== rows) throw new Error(`flush of ${rows} queued rows left ${landed} in the table`)
        await knex.schema.dropTableIfExists(table)
        await cleanRedis(ctx.redis, prefix)
        ctx.log(`  ${rows} queued rows: ${peaks[rows].seconds.toFixed(1)} s, peak RSS ${peaks[rows].rssMb.toFixed(0)} MB`)
      }
      const small = peaks[big / 10]
      const large = peaks[big]
      results.push(
        {
          scenario: '8 queued inserts',
          case: `wbc flush, ${big} rows: peak RSS`,
          value: large.rssMb,
          unit: 'MB',
          baseline: {name: `${big / 10} rows`, value: small.rssMb},
          ratio: large.rssMb / small.rssMb,
          target: '<= 1.5x (bounded by batch)',
          met: large.rssMb / small.rssMb <= 1.5,
        },
        {
          scenario: '8 queued inserts',
          case: `wbc flush, ${big} rows: time`,
          value: large.seconds,
          unit: 's',
          baseline: {name: `${big / 10} rows`, value: small.seconds},
          ratio: large.seconds / small.seconds,
        },
      )
    } finally {
      raw.disconnect()
      await knex.destroy()
    }
    return results
  },

  /** 6: CLI start, median of 10 runs, against `node -e 0`; the three run in turn so a busy machine slows each alike (bench/start-up.ts compares builds). */
  async start(ctx) {
    const prefix = `${tag}start`
    const cwd = mkdtempSync(join(tmpdir(), 'wbc-bench-'))
    writeFileSync(join(cwd, 'wbc.config.json'), JSON.stringify({ipc: {driver: 'redis', redis: ctx.redis, prefix}}))
    const runs: Record<'node' | 'version' | 'status', string[]> = {node: ['-e', '0'], version: [bin, '--version'], status: [bin, 'status', '--json']}
    const times: Record<keyof typeof runs, number[]> = {node: [], version: [], status: []}
    for (let i = 0; i < 10; i++) {
      for (const name of ['node', 'version', 'status'] as const) {
        const start = process.hrtime.bigint()
        spawnSync(process.execPath, runs[name], {cwd})
        times[name].push(Number(process.hrtime.bigint() - start) / 1e6)
      }
    }
    const [node, version, status] = [times.node, times.version, times.status].map((list) => list.sort((a, b) => a - b)[5])
    return [
      {scenario: '6 CLI start', case: 'wbc --version', value: version, unit: 'ms', baseline: {name: 'node -e 0', value: node}, ratio: version / node},
      {scenario: '6 CLI start', case: 'wbc status --json (empty)', value: status, unit: 'ms', baseline: {name: 'node -e 0', value: node}, ratio: status / node, target: '< 250 ms', met: status < 250},
      // Cron and monitoring probes (#16): a status against Redis costs at most half again a bare start.
      {
        scenario: '6 CLI start',
        case: 'status --json vs --version',
        value: status,
        unit: 'ms',
        baseline: {name: '--version', value: version},
        ratio: status / version,
        target: '<= 1.5x',
        met: status / version <= 1.5,
      },
    ]
  },

  /** 7: the dashboard's CPU share at 1 s refresh with 100,000 pending keys (see dashboard-cpu.ts). */
  async dashboard(ctx) {
    const keys = n(ctx, 100_000, 1000)
    const out = execFileSync(process.execPath, ['--import', 'tsx', join(import.meta.dirname, 'dashboard-cpu.ts'), String(keys), String(Math.max(5, Math.round(30 * Math.min(1, ctx.scale * 10))))], {
      encoding: 'utf8',
    })
    const share = JSON.parse(out.trim().split('\n').pop()!).cpuShareOfOneCore as number
    return [{scenario: '7 dashboard refresh cost', case: `${keys} keys, 1 s refresh`, value: share * 100, unit: '% of a core', target: '< 10%', met: share < 0.1}]
  },
  ...odacWorkloads,
}
