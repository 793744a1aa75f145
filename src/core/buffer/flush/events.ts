import type {Ipc, LeaseRecord} from '../../ipc/types.js'
import type {KeySpace} from '../keys.js'
import type {FlushReport, TableFlushReport} from './types.js'

// What a flush leaves for operators besides its report: the event stream (`{prefix}:events`,
// trimmed to `eventsMaxCount` at every push) and the running totals `wbc metrics` reads.

/** A takeover belongs to the history operators read, like a release (`wbc locks release`). */
export async function recordTakeover(ipc: Ipc, keys: KeySpace, eventsMaxCount: number, dead: LeaseRecord): Promise<void> {
  const event = {at: Date.now(), type: 'lease-released', key: dead.key, forced: false, holderDead: true, holder: `${dead.host ?? '?'}:${dead.pid ?? '?'}`, fence: dead.fence}
  await ipc.rpush(keys.events, event as never)
  await ipc.ltrim(keys.events, -eventsMaxCount, -1)
}

/**
 * Flushes that did something (or failed) go to the event stream, which is trimmed to its bound
 * at once: it can never grow past it, whatever the traffic.
 */
export async function recordFlushEvent(ipc: Ipc, keys: KeySpace, eventsMaxCount: number, report: FlushReport): Promise<void> {
  if (report.tables.length === 0 && report.status === 'ok') return
  const sum = (pick: (t: TableFlushReport) => number) => report.tables.reduce((n, t) => n + pick(t), 0)
  const event = {
    at: report.startedAt,
    type: 'flush',
    status: report.status,
    ...(report.reason ? {reason: report.reason} : {}),
    durationMs: report.durationMs,
    fence: report.fence,
    tables: report.tables.length,
    rows: sum((t) => t.counters + t.updates + t.inserts),
    deadLettered: sum((t) => t.deadLettered),
    recovered: sum((t) => t.recovered),
    errors: report.tables.filter((t) => t.error).map((t) => `${t.connection}:${t.table}: ${t.error}`),
  }
  await ipc.rpush(keys.events, event as never)
  await ipc.ltrim(keys.events, -eventsMaxCount, -1)
}

/**
 * Running totals for `wbc metrics` (the event stream is trimmed): flushes per status, and the
 * rows each table's transactions changed. Counted after the commit: a crash in between undercounts.
 */
export async function countFlush(ipc: Ipc, keys: KeySpace, report: FlushReport): Promise<void> {
  await ipc.incrBy(keys.flushesTotal(report.status), 1).catch(() => {})
  for (const t of report.tables) {
    const rows = t.counters + t.updates + t.inserts
    if (rows > 0) await ipc.incrBy(keys.rowsFlushedTotal(`${t.connection}:${t.table}`), rows).catch(() => {})
  }
}
