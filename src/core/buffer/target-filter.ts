/**
 * Which tables an operation works on: connection and table names, one or several each (absent: all).
 * Used alike by flushes, status, pending entries, plans and dead-letter commands, so one
 * `--table a,b` means the same everywhere.
 */
export interface TargetFilter {
  connection?: string | string[]
  table?: string | string[]
}

const asList = (value: string | string[] | undefined): string[] | null => (value === undefined ? null : Array.isArray(value) ? (value.length === 0 ? null : value) : [value])

/** A test of (connection, table) against the filter. */
export function targetMatcher(filter: TargetFilter = {}): (connection: string, table: string) => boolean {
  const connections = asList(filter.connection)
  const tables = asList(filter.table)
  return (connection, table) => (!connections || connections.includes(connection)) && (!tables || tables.includes(table))
}

/** The connections a filter names (null: every one). */
export const filterConnections = (filter: TargetFilter = {}): string[] | null => asList(filter.connection)
