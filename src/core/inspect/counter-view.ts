import type {CounterBreakdown} from '../buffer/counter-total.js'
import type {WriteBuffer} from '../buffer/write-buffer.js'
import type {WbcConfig} from '../config/schema.js'
import {InvalidArgument, ServiceUnavailable, WbcError} from '../errors.js'
import {errorText, isUnreachable} from '../sql/errors.js'
import {resolveTargets} from './resolve-targets.js'

export interface CounterView {
  table: string
  where: string
  column: string
  base: number
  inflight: number
  pending: number
  total: number
  /** Where the base came from: read from the database now, or the cached copy (see baseMaxAgeMs). */
  baseSource: 'database' | 'cache'
  /** A cached base is at most this old (the base cache's time to live). */
  baseMaxAgeMs?: number
  /** The database could not be read: the base is the cached copy. */
  databaseError?: string
}

/**
 * A counter as `wbc get` shows it: its parts come from one reading (WriteBuffer's breakdown), so
 * they add up to the total. A cached base answers without the database; then the database
 * is asked once whether it answers, so a base served while it is down is said to be cached (and
 * how old it may be). Without a cached base, a database that cannot be reached is exit 3; a table
 * the database does not have is exit 2 with the closest names.
 */
export async function readCounterView(wb: WriteBuffer, config: WbcConfig, table: string, where: unknown, column: string): Promise<CounterView> {
  const connection = 'default'
  const row = wb.table(table).where(where as never)
  let counter: CounterBreakdown
  try {
    counter = await row.breakdown(column)
  } catch (error) {
    // A table the database does not have: named like --table is (exit 2, with the closest names).
    if (error instanceof InvalidArgument && error.argument === 'table') await resolveTargets(wb.ipc, config, {connections: [connection], tables: [table]}, {dbs: wb.databases})
    if (error instanceof WbcError) throw error
    const db = wb.databases.get(connection)
    if (isUnreachable(error)) {
      throw new ServiceUnavailable(`database ${connection}`, db.target, errorText(error), {
        hint: 'No base is cached for this counter, so its total cannot be read without the database. Start it, or try again later.',
        cause: error,
      })
    }
    // An unknown table or column: the table's name is checked like --table (exit 2, closest names).
    await resolveTargets(wb.ipc, config, {connections: [connection], tables: [table]}, {dbs: wb.databases})
    throw error
  }
  const view: CounterView = {table, where: row.where, column, base: counter.base, inflight: counter.inflight, pending: counter.live, total: counter.total, baseSource: counter.baseSource}
  if (view.baseSource === 'cache') {
    view.baseMaxAgeMs = wb.baseCacheTtlMs
    try {
      await wb.databases.get(connection).knex.raw('SELECT 1')
    } catch (error) {
      view.databaseError = errorText(error)
    }
  }
  return view
}
