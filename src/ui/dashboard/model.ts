import type {TableStatus} from '../../core/inspect/status.js'
import {printable} from '../safe-text.js'
import type {DashboardSnapshot} from './source.js'

export interface TableRow extends TableStatus {
  id: string
  pending: number
  /** Writes per second into the buffer, and rows per second flushed out, over the last refresh. */
  rateIn: number | null
  rateOut: number | null
  /** Pending rows at each refresh, oldest first (the sparkline). */
  history: number[]
}

export interface Thresholds {
  maxAgeMs: number
  maxPending: number
}

export const DEFAULT_THRESHOLDS: Thresholds = {maxAgeMs: 60_000, maxPending: 100_000}
const HISTORY = 120

const pendingOf = (t: TableStatus) => t.counters.rows + t.updates.rows + t.inserts.rows

/** Table rows for a new snapshot, carrying history and rates over from the previous one. */
export function nextRows(previous: {snapshot: DashboardSnapshot; rows: TableRow[]} | null, snapshot: DashboardSnapshot): TableRow[] {
  const before = new Map(previous?.rows.map((row) => [row.id, row]))
  const dt = previous ? (snapshot.at - previous.snapshot.at) / 1000 : 0
  // A table that drained stays on screen with zeros, so its drop is visible.
  const present = new Set(snapshot.status.tables.map((t) => `${t.connection}:${t.table}`))
  const drained: TableStatus[] = (previous?.rows ?? [])
    .filter((row) => !present.has(row.id))
    .map((row) => ({connection: row.connection, table: row.table, counters: {rows: 0, keys: 0}, updates: {rows: 0}, inserts: {rows: 0}, inflight: {batches: 0}, deadLetters: 0, oldestPendingMs: null}))
  const tables = [...snapshot.status.tables, ...drained].sort((a, b) => `${a.connection}:${a.table}`.localeCompare(`${b.connection}:${b.table}`))
  return tables.map((table) => {
    const id = `${table.connection}:${table.table}`
    const old = before.get(id)
    const pending = pendingOf(table)
    const now = snapshot.totals[id]
    const then = previous?.snapshot.totals[id]
    const rate = (a?: number, b?: number) => (dt > 0 && a !== undefined && b !== undefined && a >= b ? (a - b) / dt : null)
    return {
      ...table,
      id,
      pending,
      rateIn: rate(now?.writes, then?.writes),
      rateOut: rate(now?.flushed, then?.flushed),
      history: [...(old?.history ?? []), pending].slice(-HISTORY),
    }
  })
}

export function isHot(row: TableRow, limits: Thresholds): boolean {
  return row.deadLetters > 0 || row.pending > limits.maxPending || (row.oldestPendingMs ?? 0) > limits.maxAgeMs
}

const BARS = '▁▂▃▄▅▆▇█'

/** The last `width` points as block characters, scaled to their own maximum. */
export function sparkline(points: number[], width: number): string {
  const tail = points.slice(-width)
  const max = Math.max(1, ...tail)
  return tail
    .map((p) => BARS[Math.min(BARS.length - 1, Math.round((p / max) * (BARS.length - 1)))])
    .join('')
    .padStart(width, ' ')
}

/**
 * Cuts text to `width` columns with an ellipsis, then pads it: layouts never wrap. Every text the
 * dashboard shows passes here, so this is where values from the state are escaped (safe-text.ts).
 */
export function fit(text: string, width: number, align: 'left' | 'right' = 'left'): string {
  const shown = printable(text)
  const cut = shown.length > width ? `${shown.slice(0, Math.max(0, width - 1))}…` : shown
  return align === 'right' ? cut.padStart(width) : cut.padEnd(width)
}

export function compact(n: number | null): string {
  if (n === null) return '-'
  if (n >= 1e6) return `${(n / 1e6).toFixed(1)}M`
  if (n >= 1e4) return `${Math.round(n / 1e3)}k`
  return Number.isInteger(n) ? String(n) : n.toFixed(n < 10 ? 1 : 0)
}
