import {parseMember, KeySpace} from '../buffer/keys.js'
import {resolveConnection} from '../config/connections.js'
import type {WbcConfig} from '../config/schema.js'
import type {Ipc} from '../ipc/types.js'
import {derivedRows, missingRows, quote, updateFromRows} from '../sql/statements.js'
import {readStatus, type StatusFilter, type TableStatus} from './status.js'

export interface FlushPlan {
  dryRun: true
  tables: Array<TableStatus & {statements: Array<{kind: 'check' | 'update' | 'counter' | 'insert'; sql: string}>}>
}

/**
 * What a flush would write, without claiming anything: the pending counts per table and the
 * shape of each set-based statement (one row shown; the flush sends chunks of many).
 */
export async function planFlush(ipc: Ipc, config: WbcConfig, filter: StatusFilter): Promise<FlushPlan> {
  const status = await readStatus(ipc, config.ipc.prefix, filter)
  const keys = new KeySpace(config.ipc.prefix)
  const tables: FlushPlan['tables'] = []
  for (const t of status.tables) {
    const target = config.connections[t.connection]
    const dialect = target === undefined ? 'postgres' : resolveConnection(t.connection, target).dialect
    const pk = [config.buffer.primaryKey]
    const statements: FlushPlan['tables'][number]['statements'] = []
    const sample = (columns: string[]) => derivedRows(dialect, columns, [columns.map(() => '…')], {})
    if (t.counters.keys > 0 || t.updates.rows > 0) statements.push({kind: 'check', sql: missingRows(dialect, t.table, pk, sample(['wbc_i', ...pk])).sql})
    if (t.updates.rows > 0) statements.push({kind: 'update', sql: updateFromRows(dialect, t.table, pk, [['column', `v.${quote(dialect, 'column')}`]], sample([...pk, 'column'])).sql})
    if (t.counters.keys > 0) {
      const page = await ipc.sscan(keys.countersIndex, '0', 200)
      const columns = [...new Set(page.items.map((m) => parseMember(m, true)).filter((p) => p && p.connection === t.connection && p.table === t.table).map((p) => p!.column!))].sort()
      const cols = columns.length > 0 ? columns : ['column']
      const q = (name: string) => quote(dialect, name)
      statements.push({kind: 'counter', sql: updateFromRows(dialect, t.table, pk, cols.map((c) => [c, `COALESCE(t.${q(c)}, 0) + v.${q(c)}`]), sample([...pk, ...cols])).sql})
    }
    if (t.inserts.rows > 0) statements.push({kind: 'insert', sql: `INSERT INTO ${quote(dialect, t.table)} (…) VALUES (…), (…), … -- ${config.buffer.insertBatchSize} rows per statement`})
    tables.push({...t, statements})
  }
  return {dryRun: true, tables}
}
