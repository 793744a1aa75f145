import type {Knex} from 'knex'

import type {Entry} from '../buffer/entries.js'
import type {Dialect} from '../config/connections.js'
import {WbcError} from '../errors.js'
import type {Json} from '../ipc/types.js'
import {bindValue, columnTypes, derivedRows, missingRows, quote, rowsPerStatement, updateFromRows, type ColumnTypes} from './statements.js'

/** Some entries address rows that do not exist: a data error pinned to those entries. */
export class RowsNotFound extends WbcError {
  constructor(readonly indexes: number[]) {
    super('ROW_NOT_FOUND', `no row matches the key of ${indexes.length} entr${indexes.length === 1 ? 'y' : 'ies'}`)
  }
}

export interface AppliedCounts {
  updates: number
  counters: number
  inserts: number
}

interface Target {
  trx: Knex.Transaction
  dialect: Dialect
  table: string
  types: ColumnTypes
}

/**
 * Applies entries with set-based statements: per group of rows with the same key columns (and
 * the same updated columns), one statement per chunk; inserts as multi-row INSERTs. Rows go in
 * key order (the entries are sorted), which keeps concurrent transactions from deadlocking.
 */
export async function applyEntries(
  trx: Knex.Transaction,
  dialect: Dialect,
  table: string,
  entries: Entry[],
  insertBatchSize: number,
  /** The connection's knex, whose column types are cached (a transaction's are not). */
  connection: Knex = trx as unknown as Knex,
): Promise<AppliedCounts> {
  const target: Target = {trx, dialect, table, types: {...(await columnTypes(connection, dialect, table)), wbc_i: 'integer'}}
  const keyed = entries.map((entry, index) => ({entry, index})).filter(({entry}) => entry.kind !== 'insert')
  let affected = 0

  const counts: AppliedCounts = {updates: 0, counters: 0, inserts: 0}
  const updates = groupBy(
    entries.filter((e): e is Extract<Entry, {kind: 'update'}> => e.kind === 'update'),
    (e) => `${Object.keys(e.where).sort().join(',')}|${Object.keys(e.fields).sort().join(',')}`,
  )
  for (const group of updates.values()) {
    const keys = Object.keys(group[0].where).sort()
    const columns = Object.keys(group[0].fields).sort()
    await inChunks(group, keys.length + columns.length, async (chunk) => {
      const rows = chunk.map((e) => [...keys.map((k) => bindValue(dialect, e.where[k])), ...columns.map((c) => bindValue(dialect, e.fields[c]))])
      const derived = derivedRows(dialect, [...keys, ...columns], rows, target.types)
      affected += await runUpdate(target, updateFromRows(dialect, table, keys, columns.map((c) => [c, `v.${quote(dialect, c)}`]), derived))
    })
    counts.updates += group.length
  }

  const counters = groupBy(
    entries.filter((e): e is Extract<Entry, {kind: 'counter'}> => e.kind === 'counter'),
    (e) => Object.keys(e.where).sort().join(','),
  )
  for (const group of counters.values()) {
    const keys = Object.keys(group[0].where).sort()
    const columns = [...new Set(group.flatMap((e) => Object.keys(e.deltas)))].sort()
    await inChunks(group, keys.length + columns.length, async (chunk) => {
      const rows = chunk.map((e) => [...keys.map((k) => bindValue(dialect, e.where[k])), ...columns.map((c) => e.deltas[c] ?? 0)])
      const derived = derivedRows(dialect, [...keys, ...columns], rows, target.types)
      const q = (name: string) => quote(dialect, name)
      // A NULL counter column counts as 0.
      affected += await runUpdate(target, updateFromRows(dialect, table, keys, columns.map((c) => [c, `COALESCE(t.${q(c)}, 0) + v.${q(c)}`]), derived))
    })
    counts.counters += group.length
  }

  // Every keyed entry changed its row: no row can be missing. Fewer (a missing row, or MySQL not
  // counting an unchanged row): find the missing ones; the transaction then rolls back.
  if (affected < keyed.length) await assertRowsExist(target, keyed as Array<{entry: Exclude<Entry, {kind: 'insert'}>; index: number}>)

  const inserts = entries.filter((e): e is Extract<Entry, {kind: 'insert'}> => e.kind === 'insert')
  const columnsPerRow = Math.max(1, ...inserts.map((e) => Object.keys(e.row).length))
  // knex writes SQLite's multi-row INSERT as a compound SELECT, which SQLite caps at 500 terms.
  const rowsPerInsert = Math.min(insertBatchSize, rowsPerStatement(columnsPerRow), dialect === 'sqlite' ? 500 : Infinity)
  for (let i = 0; i < inserts.length; i += rowsPerInsert) {
    const chunk = inserts.slice(i, i + rowsPerInsert).map((e) => bindRow(dialect, e.row))
    await trx(table).insert(chunk)
  }
  counts.inserts += inserts.length
  return counts
}

/** One query finds every keyed entry whose row is missing; those are data errors. */
async function assertRowsExist(target: Target, keyed: Array<{entry: Exclude<Entry, {kind: 'insert'}>; index: number}>): Promise<void> {
  const missing: number[] = []
  const shapes = groupBy(keyed, ({entry}) => Object.keys(entry.where).sort().join(','))
  for (const group of shapes.values()) {
    const keys = Object.keys(group[0].entry.where).sort()
    await inChunks(group, keys.length + 1, async (chunk) => {
      const rows = chunk.map(({entry, index}) => [index, ...keys.map((k) => bindValue(target.dialect, entry.where[k]))])
      const derived = derivedRows(target.dialect, ['wbc_i', ...keys], rows, target.types)
      const result = await run(target, missingRows(target.dialect, target.table, keys, derived))
      for (const row of result) missing.push(Number(row.i))
    })
  }
  if (missing.length > 0) throw new RowsNotFound(missing.sort((a, b) => a - b))
}

async function run(target: Target, statement: {sql: string; bindings: unknown[]}): Promise<Array<Record<string, unknown>>> {
  const result = await target.trx.raw(statement.sql, statement.bindings as Knex.RawBinding[])
  if (target.dialect === 'postgres') return (result as {rows: Array<Record<string, unknown>>}).rows
  if (target.dialect === 'mysql') return Array.isArray(result[0]) ? result[0] : []
  return Array.isArray(result) ? result : []
}

/** Runs an UPDATE and returns how many rows it changed. */
async function runUpdate(target: Target, statement: {sql: string; bindings: unknown[]}): Promise<number> {
  const result = await target.trx.raw(statement.sql, statement.bindings as Knex.RawBinding[])
  if (target.dialect === 'postgres') return Number((result as {rowCount?: number}).rowCount ?? 0)
  if (target.dialect === 'mysql') return Number((result as Array<{affectedRows?: number}>)[0]?.affectedRows ?? 0)
  return Number((result as {changes?: number}).changes ?? 0)
}

function bindRow(dialect: Dialect, row: Record<string, Json>): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  for (const [column, value] of Object.entries(row)) out[column] = bindValue(dialect, value)
  return out
}

function groupBy<T>(items: T[], keyOf: (item: T) => string): Map<string, T[]> {
  const groups = new Map<string, T[]>()
  for (const item of items) {
    const key = keyOf(item)
    const group = groups.get(key)
    if (group) group.push(item)
    else groups.set(key, [item])
  }
  return groups
}

async function inChunks<T>(items: T[], columnsPerRow: number, work: (chunk: T[]) => Promise<void>): Promise<void> {
  const size = rowsPerStatement(columnsPerRow)
  for (let i = 0; i < items.length; i += size) await work(items.slice(i, i + size))
}
