/**
 * The workloads of issue #16, where wbc was measured beside another write-behind buffer: the redis
 * driver with one row per `insert()` from 64 callers, first touches of many distinct rows, the
 * redis counter flush with bases cached, warm increments against the Redis ceiling, the memory
 * driver at 10,000 rows. Each figure is a ratio against a limit or a direct way measured in the same
 * run, and each run checks the totals in the database.
 */
import {join} from 'node:path'

import {Redis} from 'ioredis'
import type {Knex} from 'knex'

import {createWriteBuffer} from '../dist/core/buffer/write-buffer.js'
import {callers, cleanRedis, n, openDb, postsTable, scratch, seconds, tag, type BenchContext, type BenchResult} from './helpers.js'

type Dialect = 'postgres' | 'mysql' | 'sqlite'
type WriteBuffer = Awaited<ReturnType<typeof createWriteBuffer>>

/** A redis-driver engine that flushes only when told to, so writes and flushes are timed apart. */
const redisEngine = (ctx: BenchContext, prefix: string, database: string): Promise<WriteBuffer> =>
  createWriteBuffer({ipc: {driver: 'redis', redis: ctx.redis, prefix}, connections: {default: database}}, {timers: false})

async function logTable(db: Knex, name: string): Promise<void> {
  await db.schema.dropTableIfExists(name)
  await db.schema.createTable(name, (t) => {
    t.increments('id')
    t.integer('user_id').notNullable()
    t.string('action', 20).notNullable()
  })
}

async function rowCount(db: Knex, table: string): Promise<number> {
  const [{c}] = await db(table).count({c: '*'})
  return Number(c)
}

async function columnSum(db: Knex, table: string): Promise<number> {
  const [{s}] = await db(table).sum({s: 'views'})
  return Number(s)
}

function exact(what: string, found: number, expected: number): void {
  if (found !== expected) throw new Error(`${what}: the database holds ${found}, expected ${expected}`)
}

/** A PostgreSQL array literal of plain integers (knex would spread a JS array into a list). */
const intArray = (values: number[]) => `{${values.join(',')}}`

const rate = (count: number, s: number) => count / s

export const odacWorkloads: Record<string, (ctx: BenchContext) => Promise<BenchResult[]>> = {
  /** 9: one row per insert() from 64 callers through the redis driver, then the flush of the queue. */
  async inserts(ctx) {
    const total = n(ctx, 100_000)
    const dir = scratch()
    const results: BenchResult[] = []
    const urls: Record<Dialect, string> = {postgres: ctx.postgres, mysql: ctx.mysql, sqlite: `sqlite:${join(dir, 'inserts.sqlite')}`}
    const row = (i: number) => ({user_id: i, action: 'view'})
    for (const dialect of ['postgres', 'mysql', 'sqlite'] as const) {
      const db = openDb(urls[dialect], 64)
      const table = `${tag}_ins`
      const limitTable = `${tag}_ins_limit`
      const prefix = `${tag}ins${dialect}`
      try {
        const rows = Array.from({length: total}, (_, i) => row(i))
        // The limit: multi-row INSERTs of 500 rows in one transaction (and on PostgreSQL, unnest arrays).
        await logTable(db, limitTable)
        const multi = rate(
          total,
          await seconds(() =>
            db.transaction(async (trx) => {
              for (let i = 0; i < total; i += 500) await trx(limitTable).insert(rows.slice(i, i + 500))
            }),
          ),
        )
        exact(`${dialect} multi-row INSERT`, await rowCount(db, limitTable), total)
        let unnest: number | undefined
        if (dialect === 'postgres') {
          await logTable(db, limitTable)
          const users = intArray(rows.map((r) => r.user_id))
          const actions = `{${rows.map(() => 'view').join(',')}}`
          unnest = rate(total, await seconds(() => db.raw(`INSERT INTO "${limitTable}" (user_id, action) SELECT * FROM unnest(?::int[], ?::text[])`, [users, actions])))
          exact('postgres unnest INSERT', await rowCount(db, limitTable), total)
        }

        let plain: number | undefined
        let pipelined: number | undefined
        let direct: number | undefined
        if (dialect === 'postgres') {
          // What a buffer that does one RPUSH per insert costs: each caller awaits its own command.
          const key = `${tag}:rpush`
          const raw = new Redis(ctx.redis)
          plain = rate(total, await seconds(() => callers(total, 64, (i) => raw.rpush(key, JSON.stringify(row(i))))))
          exact('plain RPUSH', await raw.llen(key), total)
          await raw.del(key)
          raw.disconnect()
          // The same with ioredis batching every command of an event-loop turn into one write.
          const piped = new Redis(ctx.redis, {enableAutoPipelining: true})
          pipelined = rate(total, await seconds(() => callers(total, 64, (i) => piped.rpush(key, JSON.stringify(row(i))))))
          exact('pipelined RPUSH', await piped.llen(key), total)
          await piped.del(key)
          piped.disconnect()
          // No buffer: one INSERT per row, a round trip each (measured on a tenth: the same rate).
          await logTable(db, limitTable)
          const sample = Math.max(100, Math.round(total / 10))
          direct = rate(sample, await seconds(() => callers(sample, 64, (i) => db(limitTable).insert(row(i)))))
          exact('direct INSERT', await rowCount(db, limitTable), sample)
        }

        await logTable(db, table)
        const wb = await redisEngine(ctx, prefix, urls[dialect])
        try {
          const engine = rate(total, await seconds(() => callers(total, 64, (i) => wb.table(table).insert(row(i)))))
          const flushed = rate(total, await seconds(() => wb.flush()))
          exact(`${dialect} insert flush`, await rowCount(db, table), total)
          if (dialect === 'postgres') {
            results.push(
              {
                scenario: '9 redis insert() x64',
                case: 'one row per call vs RPUSH per call',
                value: engine,
                unit: 'rows/s',
                baseline: {name: 'RPUSH/call', value: plain!},
                ratio: engine / plain!,
                target: '>= 2x',
                met: engine / plain! >= 2,
              },
              {scenario: '9 redis insert() x64', case: 'vs auto-pipelined RPUSH', value: engine, unit: 'rows/s', baseline: {name: 'piped RPUSH', value: pipelined!}, ratio: engine / pipelined!},
              {scenario: '9 redis insert() x64', case: 'vs direct INSERT per row', value: engine, unit: 'rows/s', baseline: {name: 'direct', value: direct!}, ratio: engine / direct!},
            )
          }
          const limit = Math.max(multi, unnest ?? 0)
          const pgTarget = dialect === 'postgres'
          results.push({
            scenario: `9 redis insert flush ${dialect}`,
            case: `${total} rows vs ${pgTarget ? 'best of multi-row/unnest' : 'multi-row INSERT'}`,
            value: flushed,
            unit: 'rows/s',
            baseline: {name: pgTarget && unnest! > multi ? 'unnest' : 'multi-row', value: limit},
            ratio: flushed / limit,
            target: pgTarget ? '>= 0.4 (COPY class)' : '>= 0.8',
            met: flushed / limit >= (pgTarget ? 0.4 : 0.8),
          })
          if (pgTarget)
            results.push({
              scenario: `9 redis insert flush ${dialect}`,
              case: `${total} rows vs multi-row INSERT`,
              value: flushed,
              unit: 'rows/s',
              baseline: {name: 'multi-row', value: multi},
              ratio: flushed / multi,
            })
        } finally {
          await wb.close()
          await cleanRedis(ctx.redis, prefix)
        }
      } finally {
        await db.schema.dropTableIfExists(table)
        await db.schema.dropTableIfExists(limitTable)
        await db.destroy()
      }
    }
    return results
  },

  /**
   * 10 and 11: first increments of distinct rows (each reads its base from PostgreSQL), the flush
   * of those pending counters with their bases cached, then warm increments against the Redis ceiling.
   */
  async touches(ctx) {
    const rows = n(ctx, 100_000)
    const warm = n(ctx, 200_000)
    const warmRows = Math.min(1000, rows)
    const table = `${tag}_touch`
    const limitTable = `${tag}_touch_limit`
    const prefix = `${tag}touch`
    const db = openDb(ctx.postgres, 64)
    const results: BenchResult[] = []
    try {
      // The limit for a counter flush: one set-based UPDATE joined to unnest arrays.
      await postsTable(db, limitTable, rows)
      const ids = Array.from({length: rows}, (_, i) => i + 1)
      const unnest = rate(
        rows,
        await seconds(() => db.raw(`UPDATE "${limitTable}" AS t SET views = t.views + v.d FROM unnest(?::int[], ?::int[]) AS v(id, d) WHERE t.id = v.id`, [intArray(ids), intArray(ids.map(() => 1))])),
      )
      exact('unnest UPDATE', await columnSum(db, limitTable), rows)
      // No buffer: one UPDATE per increment from 64 callers (on a tenth of the rows: the same rate).
      const sample = Math.max(100, Math.round(rows / 10))
      const direct = rate(sample, await seconds(() => callers(sample, 64, (i) => db.raw(`UPDATE "${limitTable}" SET views = views + 1 WHERE id = ?`, [i + 1]))))
      exact('direct UPDATE', await columnSum(db, limitTable), rows + sample)

      await postsTable(db, table, rows)
      const wb = await redisEngine(ctx, prefix, ctx.postgres)
      try {
        let wrong = 0
        const first = rate(
          rows,
          await seconds(() =>
            callers(rows, 64, async (i) => {
              if (
                (await wb
                  .table(table)
                  .where(i + 1)
                  .increment('views')) !== 1
              )
                wrong++
            }),
          ),
        )
        if (wrong > 0) throw new Error(`${wrong} first increments returned a total other than 1`)
        const flushed = rate(rows, await seconds(() => wb.flush()))
        exact('counter flush', await columnSum(db, table), rows)
        results.push(
          {
            scenario: '10 redis first touches x64',
            case: `${rows} distinct rows vs direct UPDATE`,
            value: first,
            unit: 'inc/s',
            baseline: {name: 'direct', value: direct},
            ratio: first / direct,
            target: '>= 3.5x (3x the other buffer)',
            met: first / direct >= 3.5,
          },
          {scenario: '10 redis counter flush', case: `${rows} rows, bases cached: rate`, value: flushed, unit: 'rows/s', target: '>= 150k rows/s', met: flushed >= 150_000},
          {
            scenario: '10 redis counter flush',
            case: `${rows} rows vs unnest UPDATE`,
            value: flushed,
            unit: 'rows/s',
            baseline: {name: 'unnest', value: unnest},
            ratio: flushed / unnest,
            target: '>= 0.5',
            met: flushed / unnest >= 0.5,
          },
        )

        // Warm: the rows were touched and flushed, their bases are cached; increments return totals.
        const engine = rate(
          warm,
          await seconds(() =>
            callers(warm, 64, (i) =>
              wb
                .table(table)
                .where((i % warmRows) + 1)
                .increment('views'),
            ),
          ),
        )
        const redis = new Redis(ctx.redis, {enableAutoPipelining: true})
        const key = `${tag}:ceiling64`
        const ceiling = rate(warm, await seconds(() => callers(warm, 64, () => redis.incrbyfloat(key, 1))))
        exact('INCRBYFLOAT ceiling', Number(await redis.get(key)), warm)
        await redis.del(key)
        redis.disconnect()
        await wb.flush()
        exact('warm increments', await columnSum(db, table), rows + warm)
        results.push({
          scenario: '11 redis warm increments x64',
          case: `${warmRows} rows vs INCRBYFLOAT x64`,
          value: engine,
          unit: 'inc/s',
          baseline: {name: 'ceiling', value: ceiling},
          ratio: engine / ceiling,
          target: '>= 0.7',
          met: engine / ceiling >= 0.7,
        })
      } finally {
        await wb.close()
        await cleanRedis(ctx.redis, prefix)
      }
    } finally {
      await db.schema.dropTableIfExists(table)
      await db.schema.dropTableIfExists(limitTable)
      await db.destroy()
    }
    return results
  },

  /** 12: the memory driver in process, warm, over 10,000 distinct rows, through the public API. */
  async memoryrows(ctx) {
    const rows = Math.min(10_000, n(ctx, 100_000, 1000)) // 10,000 from --scale 0.1 up.
    const total = n(ctx, 1_000_000)
    const table = `${tag}_mem10k`
    const dir = scratch()
    const db = openDb(ctx.postgres)
    try {
      await postsTable(db, table, rows)
      const wb = await createWriteBuffer(
        {ipc: {driver: 'memory', prefix: `${tag}mem10k`, socket: join(dir, 's.sock')}, connections: {default: ctx.postgres}},
        {timers: false, serveSocket: false, checkpoint: false},
      )
      let s: number
      try {
        await callers(rows, 64, (i) =>
          wb
            .table(table)
            .where(i + 1)
            .increment('views'),
        ) // First touches read the bases.
        s = await seconds(() =>
          callers(total, 64, (i) =>
            wb
              .table(table)
              .where((i % rows) + 1)
              .increment('views'),
          ),
        )
      } finally {
        await wb.close()
      }
      exact('memory driver increments', await columnSum(db, table), rows + total)
      const value = rate(total, s)
      return [{scenario: '12 memory driver, warm', case: `${rows} rows, 64 callers, in process`, value, unit: 'inc/s', target: '>= 1M inc/s', met: value >= 1_000_000}]
    } finally {
      await db.schema.dropTableIfExists(table)
      await db.destroy()
    }
  },
}
