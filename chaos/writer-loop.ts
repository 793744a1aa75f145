/**
 * A chaos writer: loops that increment, update and insert with known content and append every
 * outcome to the writer's own log, so the expected database state can be computed exactly.
 * Outcomes: ok (acknowledged), ? (failed in a way that may or may not have applied, e.g. the
 * connection dropped mid-request), no (rejected before anything was stored).
 */
import {closeSync, openSync, writeSync} from 'node:fs'

import {createWriteBuffer, type WriteBuffer} from '../src/core/buffer/write-buffer.js'
import type {WbcConfigInput} from '../src/core/config/schema.js'
import type {CreateIpcOptions} from '../src/core/ipc/create.js'
import {childSeed, Random} from './random.js'

export interface WriterOptions {
  config: WbcConfigInput
  role: CreateIpcOptions['role']
  timers: boolean
  writer: number
  writers: number
  loops: number
  rows: number
  seed: number
  posts: string
  log: string
  logFile: string
  leaseTtlMs: number
  paceMs: number
  /** How many times the application was restarted before this writer started (keeps its writes distinct). */
  generation?: number
}

/** One line of a writer's log. */
export type LogEntry =
  {k: 'i'; id: number; d: number; r: Outcome} | {k: 'u'; id: number; v: string; r: Outcome} | {k: 'n'; u: number; s: number; r: Outcome; o?: 1} | {k: 'p'; s: number; c: string; d: number; r: Outcome}
export type Outcome = 'ok' | '?' | 'no'

/** Errors raised before anything was stored: the write certainly did not happen. */
const NOT_STORED = new Set(['INVALID_ARGUMENT', 'BUFFER_CLOSED', 'WRONG_TYPE'])

/** The `pairs` table: a composite key of an integer and a char(3) column. */
export const PAIR_SHOPS = 10
export const PAIR_CODES = ['A', 'AT', 'AU', 'BQX']

/**
 * One pair row written several ways the database reads as one: the shop as a number or a string,
 * the code with or without trailing blanks (insignificant in a char(n) comparison).
 */
export function pairWhere(random: Random, shop: number, code: string): Record<string, string | number> {
  const padded = code.length < 3 && random.next() < 0.5 ? `${code}${' '.repeat(random.int(1, 3 - code.length))}` : code
  return {shop: random.next() < 0.5 ? shop : String(shop), code: padded}
}

export function outcomeOf(error: unknown): Outcome {
  const e = error as {code?: string; buffered?: boolean}
  if (e.buffered) return 'ok' // Stored; only the total could not be read.
  return e.code && NOT_STORED.has(e.code) ? 'no' : '?'
}

/** Rows a loop updates (and no other loop does), so that the last acknowledged value is defined. */
export function ownedRows(slot: number, slots: number, rows: number): number[] {
  const ids: number[] = []
  for (let id = slot + 1; id <= rows; id += slots) ids.push(id)
  return ids
}

export async function openWithRetry(options: WriterOptions, stopped: () => boolean): Promise<WriteBuffer | null> {
  while (!stopped()) {
    try {
      return await createWriteBuffer(options.config, {role: options.role, timers: options.timers, serveSocket: false, checkpoint: false, leaseTtlMs: options.leaseTtlMs})
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 200))
    }
  }
  return null
}

/** Runs until stop() is called; resolves once every loop has finished and the log is closed. */
export function startWriter(options: WriterOptions): {stop: () => Promise<{ops: number; errors: Record<string, number>}>} {
  let stopping = false
  const fd = openSync(options.logFile, 'a')
  const errors: Record<string, number> = {}
  let ops = 0
  const record = (entry: LogEntry) => {
    ops++
    writeSync(fd, `${JSON.stringify(entry)}\n`)
  }

  const generation = options.generation ?? 0
  let current: WriteBuffer | null = null
  let reopening: Promise<void> | undefined
  /** Over the socket, a restarted application means a new connection (shared by the loops). */
  const reconnect = (failed: WriteBuffer): Promise<void> => {
    if (current !== failed) return Promise.resolve()
    reopening ??= (async () => {
      await failed.disconnect().catch(() => {})
      const next = await openWithRetry(options, () => stopping)
      if (next) current = next
      reopening = undefined
    })()
    return reopening
  }

  const run = (async () => {
    current = await openWithRetry(options, () => stopping)
    if (!current) return
    const slots = options.writers * options.loops
    const loop = async (l: number) => {
      const random = new Random(childSeed(options.seed, options.writer, l, generation))
      const slot = options.writer * options.loops + l
      const owned = ownedRows(slot, slots, options.rows)
      for (let seq = 0; !stopping; seq++) {
        const roll = random.next()
        let entry: LogEntry
        let write: () => Promise<unknown>
        const wb = current!
        if (roll < 0.15) {
          const shop = random.int(1, PAIR_SHOPS)
          const c = random.pick(PAIR_CODES)
          const d = random.int(1, 5)
          const where = pairWhere(random, shop, c)
          entry = {k: 'p', s: shop, c, d, r: 'ok'}
          write = () => wb.table('pairs').where(where).increment('hits', d)
        } else if (roll < 0.7 || owned.length === 0) {
          const id = random.int(1, options.rows)
          const d = random.int(1, 5)
          entry = {k: 'i', id, d, r: 'ok'}
          write = () => wb.table(options.posts).where(id).increment('views', d)
        } else if (roll < 0.85) {
          const id = random.pick(owned)
          const v = `w${options.writer}g${generation}l${l}s${seq}`
          entry = {k: 'u', id, v, r: 'ok'}
          write = () => wb.table(options.posts).where(id).update({title: v})
        } else {
          const u = slot + 1000 * generation
          // Some rows leave `action` out: it must get its DEFAULT, whatever the rows around it hold.
          const omit = random.next() < 0.3
          entry = omit ? {k: 'n', u, s: seq, r: 'ok', o: 1} : {k: 'n', u, s: seq, r: 'ok'}
          write = () => wb.table(options.log).insert(omit ? {user_id: u, seq} : {user_id: u, action: 'chaos', seq})
        }
        try {
          await write()
        } catch (error) {
          entry.r = outcomeOf(error)
          const code = (error as {code?: string}).code ?? (error as Error).name
          errors[code] = (errors[code] ?? 0) + 1
          await new Promise((resolve) => setTimeout(resolve, 50))
          if (options.role === 'socket' && (code === 'SERVICE_UNAVAILABLE' || code === 'REQUEST_TIMEOUT')) await reconnect(wb)
        }
        record(entry)
        if (options.paceMs > 0) await new Promise((resolve) => setTimeout(resolve, options.paceMs))
        else await new Promise((resolve) => setImmediate(resolve))
      }
    }
    await Promise.all(Array.from({length: options.loops}, (_, l) => loop(l)))
    await reopening
    // The final flush may fail under faults; what it leaves stays buffered for the run's own final flush.
    await current?.disconnect()
  })()

  return {
    async stop() {
      stopping = true
      await run
      closeSync(fd)
      return {ops, errors}
    },
  }
}
