import type {FlushReport} from './flusher.js'

/** A flush as `wbc flush` reports it (its --json document): the report without the engine's internals. */
export interface FlushResult {
  status: FlushReport['status']
  reason?: string
  tables: Array<{connection: string; table: string; counters: number; updates: number; inserts: number; deadLettered: number; recovered: number; error?: string; unreachable?: boolean}>
  durationMs: number
  fence: number | null
  /** Keys moved to {prefix}:bad:* because their content cannot be flushed. */
  quarantined: Array<{key: string; reason: string}>
  /** Connections that had work but could not be reached (exit 3); their tables are listed with why. */
  unreachable: Array<{connection: string; error: string}>
  /** The lease was held by a process of this host that had died: this flush took it over. */
  tookOverFrom?: FlushReport['tookOverFrom']
}

/** The fields of a flush report that `wbc flush` shows, in the order it shows them (optional ones only when set). */
export function flushResultOf(report: FlushReport): FlushResult {
  return {
    status: report.status,
    ...(report.reason ? {reason: report.reason} : {}),
    tables: report.tables.map(({connection, table, counters, updates, inserts, deadLettered, recovered, error, unreachable}) => ({
      connection,
      table,
      counters,
      updates,
      inserts,
      deadLettered,
      recovered,
      ...(error ? {error} : {}),
      ...(unreachable ? {unreachable} : {}),
    })),
    durationMs: report.durationMs,
    fence: report.fence,
    quarantined: report.quarantined,
    unreachable: report.unreachable ?? [],
    ...(report.tookOverFrom ? {tookOverFrom: report.tookOverFrom} : {}),
  }
}
