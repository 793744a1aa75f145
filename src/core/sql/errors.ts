/**
 * Sorts database errors into transient ones (retry the same batch later: connection, timeout,
 * deadlock, serialization, busy, a lock wait or statement that hit the flush's time limit) and
 * data errors (the entries themselves are at fault).
 */
const TRANSIENT_CODES = new Set([
  'ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'ECONNABORTED',
  'PROTOCOL_CONNECTION_LOST', 'PROTOCOL_SEQUENCE_TIMEOUT', 'ER_CON_COUNT_ERROR', 'ER_LOCK_DEADLOCK', 'ER_LOCK_WAIT_TIMEOUT',
  'ER_SERVER_SHUTDOWN', 'ER_QUERY_INTERRUPTED', 'ER_CLIENT_INTERACTION_TIMEOUT', 'ER_STATEMENT_TIMEOUT', 'ER_QUERY_TIMEOUT',
  'SQLITE_BUSY', 'SQLITE_LOCKED', 'SQLITE_BUSY_SNAPSHOT', 'SQLITE_BUSY_TIMEOUT', 'SQLITE_IOERR', 'SQLITE_FULL', 'SQLITE_CANTOPEN',
])
// 1205 lock wait timeout, 1969 MariaDB max_statement_time, 3024 MySQL max_execution_time.
const TRANSIENT_MYSQL_ERRNO = new Set([1040, 1053, 1205, 1213, 1317, 1969, 2002, 2003, 2006, 2013, 3024, 4031])
const TRANSIENT_MESSAGE = /Connection terminated|terminating connection|connection error|Connection lost|Timeout acquiring a connection|server closed the connection|Client was closed|Cannot enqueue|database is locked|ECONNREFUSED|ECONNRESET|socket hang up|the database system is (starting up|shutting down)/i

export function isTransient(error: unknown): boolean {
  const e = error as {code?: unknown; errno?: unknown; name?: unknown; message?: unknown}
  if (!e || typeof e !== 'object') return false
  const code = String(e.code ?? '')
  if (TRANSIENT_CODES.has(code)) return true
  // PostgreSQL SQLSTATE: 08 connection, 40001 serialization, 40P01 deadlock, 53 resources, 57P0x shutdown,
  // 55P03 lock_timeout, 57014 statement_timeout (or a cancelled query).
  if (/^(08...|40001|40P01|53...|57P0[1-3]|55P03|57014)$/.test(code)) return true
  if (typeof e.errno === 'number' && TRANSIENT_MYSQL_ERRNO.has(e.errno)) return true
  if (e.name === 'KnexTimeoutError') return true
  return TRANSIENT_MESSAGE.test(String(e.message ?? ''))
}

/**
 * A lock wait or statement that hit the flush's time limit (or a deadlock): the table's rows are
 * busy, the connection is fine. Only that table waits for the next flush; others go on.
 */
export function isBlocked(error: unknown): boolean {
  const e = error as {code?: unknown; errno?: unknown}
  if (!e || typeof e !== 'object') return false
  const code = String(e.code ?? '')
  if (/^(40P01|55P03|57014)$/.test(code)) return true
  if (['ER_LOCK_WAIT_TIMEOUT', 'ER_LOCK_DEADLOCK', 'ER_STATEMENT_TIMEOUT', 'ER_QUERY_TIMEOUT', 'SQLITE_BUSY', 'SQLITE_LOCKED', 'SQLITE_BUSY_TIMEOUT'].includes(code)) return true
  return typeof e.errno === 'number' && [1205, 1213, 1969, 3024].includes(e.errno)
}

/** A short, single-line description of a database error for reports and dead letters. */
export function errorText(error: unknown): string {
  const e = error as {code?: unknown; message?: unknown}
  const message = String(e?.message ?? error).replace(/\s+/g, ' ').trim()
  return e?.code && !message.includes(String(e.code)) ? `${String(e.code)}: ${message}` : message
}

const UNREACHABLE_CODES = new Set([
  'ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'ECONNABORTED',
  'PROTOCOL_CONNECTION_LOST', 'ER_CON_COUNT_ERROR', 'ER_SERVER_SHUTDOWN', 'SQLITE_CANTOPEN',
])
const UNREACHABLE_MYSQL_ERRNO = new Set([1040, 1053, 2002, 2003, 2006, 2013])
const UNREACHABLE_MESSAGE = /Connection terminated|terminating connection|connection error|Connection lost|Timeout acquiring a connection|server closed the connection|ECONNREFUSED|ECONNRESET|socket hang up|the database system is (starting up|shutting down)/i

/**
 * The database cannot be reached (refused, reset, timed out, shutting down, out of connections) —
 * as opposed to a transient error of one statement (deadlock, lock wait, serialization) on a
 * database that answers. A flush whose connection is unreachable exits 3, like any service down.
 */
export function isUnreachable(error: unknown): boolean {
  const e = error as {code?: unknown; errno?: unknown; name?: unknown; message?: unknown}
  if (!e || typeof e !== 'object') return false
  const code = String(e.code ?? '')
  if (UNREACHABLE_CODES.has(code)) return true
  // PostgreSQL SQLSTATE: 08 connection exception, 53300 too many connections, 57P01-03 shutdown / cannot connect now.
  if (/^(08...|53300|57P0[1-3])$/.test(code)) return true
  if (typeof e.errno === 'number' && UNREACHABLE_MYSQL_ERRNO.has(e.errno)) return true
  if (e.name === 'KnexTimeoutError') return true
  return UNREACHABLE_MESSAGE.test(String(e.message ?? ''))
}
