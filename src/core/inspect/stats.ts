import {KeySpace} from '../buffer/keys.js'
import type {Ipc} from '../ipc/types.js'

export interface TableTotals {
  /** Buffered write calls (rows for inserts) since the state began. */
  writes: number
  /** Rows flushed to the database since the state began. */
  flushed: number
}

/** Running totals per table (`{prefix}:stats:{table}`), the basis of write and flush rates. */
export async function readTotals(ipc: Ipc, prefix: string, tables: string[]): Promise<Record<string, TableTotals>> {
  const keys = new KeySpace(prefix)
  const out: Record<string, TableTotals> = {}
  for (const table of tables) {
    const stats = await ipc.hgetall(keys.stats(table))
    out[table] = {writes: Number(stats?.writes ?? 0), flushed: Number(stats?.flushed ?? 0)}
  }
  return out
}
