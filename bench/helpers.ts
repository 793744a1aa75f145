import {mkdtempSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import knexFactory, {type Knex} from 'knex'

import {resolveConnection} from '../dist/core/config/connections.js'
import {parseConfig} from '../dist/core/config/load.js'
import {createIpc} from '../dist/core/ipc/create.js'
import {deleteMatching} from '../dist/core/ipc/cursor.js'

export interface BenchContext {
  scale: number
  redis: string
  postgres: string
  mysql: string
  log: (line: string) => void
}

export interface BenchResult {
  scenario: string
  case: string
  value: number
  unit: string
  baseline?: {name: string; value: number}
  /** value / baseline (for times: baseline / value, so above 1 means faster). */
  ratio?: number
  target?: string
  met?: boolean
}

export const bin = join(import.meta.dirname, '..', 'bin', 'run.js')
export const tag = `b${process.pid}`
export const n = (ctx: BenchContext, full: number, min = 100) => Math.max(min, Math.round(full * ctx.scale))
export const seconds = async (work: () => Promise<unknown>) => {
  const start = process.hrtime.bigint()
  await work()
  return Number(process.hrtime.bigint() - start) / 1e9
}
export const openDb = (url: string, poolMax = 10): Knex => {
  const config = resolveConnection('bench', url).knex
  return knexFactory({...config, pool: /sqlite/.test(String(config.client)) ? {min: 1, max: 1} : {min: 0, max: poolMax}})
}
export async function postsTable(knex: Knex, name: string, rows: number): Promise<void> {
  await knex.schema.dropTableIfExists(name)
  await knex.schema.createTable(name, (t) => {
    t.integer('id').primary()
    t.integer('views').notNullable().defaultTo(0)
  })
  for (let i = 0; i < rows; i += 500) await knex(name).insert(Array.from({length: Math.min(500, rows - i)}, (_, j) => ({id: i + j + 1, views: 0})))
}
export async function cleanRedis(url: string, prefix: string): Promise<void> {
  const ipc = await createIpc(parseConfig({ipc: {driver: 'redis', redis: url}}).ipc)
  await deleteMatching(ipc, `${prefix}:*`)
  await ipc.close()
}
/** `callers` concurrent loops, each awaiting its share of `total` calls one by one (like request handlers). */
export async function callers(total: number, count: number, call: (i: number) => Promise<unknown>): Promise<void> {
  let next = 0
  await Promise.all(
    Array.from({length: count}, async () => {
      while (next < total) await call(next++)
    }),
  )
}

/** A fresh folder for sockets, checkpoints and SQLite files. */
export const scratch = () => mkdtempSync(join(tmpdir(), 'wbc-bench-'))

/**
 * PostgreSQL `COPY … FROM STDIN` of text rows through the driver's own protocol handlers (the
 * limit for inserts; the product does not use COPY), in one transaction on one connection.
 */
export async function copyRows(knex: Knex, sql: string, text: string): Promise<void> {
  type Connection = {query(sql: string): void; sendCopyFromChunk(chunk: Buffer): void; endCopyFrom(): void}
  const client = (await knex.client.acquireConnection()) as {query(q: unknown): unknown}
  const run = (statement: string, data?: string) =>
    new Promise<void>((resolve, reject) => {
      let failed: unknown
      client.query({
        submit: (connection: Connection) => connection.query(statement),
        handleCopyInResponse(connection: Connection) {
          connection.sendCopyFromChunk(Buffer.from(data ?? ''))
          connection.endCopyFrom()
        },
        handleRowDescription() {},
        handleDataRow() {},
        handleEmptyQuery() {},
        handleCommandComplete() {},
        handleError(error: unknown) {
          failed = error
        },
        handleReadyForQuery: () => (failed ? reject(failed) : resolve()),
      })
    })
  try {
    await run('BEGIN')
    await run(sql, text)
    await run('COMMIT')
  } finally {
    await knex.client.releaseConnection(client)
  }
}
