import {AuthenticationFailed, InvalidArgument, ServiceUnavailable, WbcError} from '../errors.js'

/**
 * Sorts database errors into transient ones (retry the same batch later) and data errors (the
 * entries themselves are at fault). Transient = the database is unreachable (isUnreachable), the
 * table's rows are busy (isBlocked), or one statement failed for reasons of the moment
 * (serialization, resources, an interrupted query, a full or failing SQLite file).
 */
const MOMENT_CODES = new Set(['PROTOCOL_SEQUENCE_TIMEOUT', 'ER_QUERY_INTERRUPTED', 'ER_CLIENT_INTERACTION_TIMEOUT', 'SQLITE_BUSY_SNAPSHOT', 'SQLITE_IOERR', 'SQLITE_FULL'])
// 1317 query interrupted, 4031 client interaction timeout.
const MOMENT_MYSQL_ERRNO = new Set([1317, 4031])
const MOMENT_MESSAGE = /Client was closed|Cannot enqueue|database is locked/i

export function isTransient(error: unknown): boolean {
  if (isUnreachable(error) || isBlocked(error)) return true
  const e = error as {code?: unknown; errno?: unknown; message?: unknown}
  if (!e || typeof e !== 'object') return false
  const code = String(e.code ?? '')
  if (MOMENT_CODES.has(code)) return true
  // PostgreSQL SQLSTATE: 40001 serialization, 53 insufficient resources.
  if (/^(40001|53...)$/.test(code)) return true
  if (typeof e.errno === 'number' && MOMENT_MYSQL_ERRNO.has(e.errno)) return true
  return !isStatementError(e) && MOMENT_MESSAGE.test(String(e.message ?? ''))
}

/**
 * An error the database raised for a statement (a PostgreSQL SQLSTATE, a MySQL `ER_` code, a
 * SQLite code): its code says what it is. Its message is never searched for words: knex puts the
 * statement in front of it, bound values included, so a row or key holding "ECONNRESET" would
 * turn any data error into an unreachable database (and a batch would never be dead-lettered).
 */
function isStatementError(e: {code?: unknown}): boolean {
  const code = String(e.code ?? '')
  return /^[0-9][0-9A-Z]{4}$/.test(code) || code.startsWith('ER_') || code.startsWith('SQLITE_')
}

/**
 * A lock wait or statement that hit the flush's time limit (or a deadlock): the table's rows are
 * busy, the connection is fine. Only that table waits for the next flush; others go on.
 */
const BLOCKED_CODES = new Set(['ER_LOCK_WAIT_TIMEOUT', 'ER_LOCK_DEADLOCK', 'ER_STATEMENT_TIMEOUT', 'ER_QUERY_TIMEOUT', 'SQLITE_BUSY', 'SQLITE_LOCKED', 'SQLITE_BUSY_TIMEOUT'])
// 1205 lock wait timeout, 1213 deadlock, 1969 MariaDB max_statement_time, 3024 MySQL max_execution_time.
const BLOCKED_MYSQL_ERRNO = new Set([1205, 1213, 1969, 3024])

export function isBlocked(error: unknown): boolean {
  const e = error as {code?: unknown; errno?: unknown}
  if (!e || typeof e !== 'object') return false
  const code = String(e.code ?? '')
  // PostgreSQL SQLSTATE: 40P01 deadlock, 55P03 lock_timeout, 57014 statement_timeout (or a cancelled query).
  if (BLOCKED_CODES.has(code) || /^(40P01|55P03|57014)$/.test(code)) return true
  return typeof e.errno === 'number' && BLOCKED_MYSQL_ERRNO.has(e.errno)
}

/** A short, single-line description of a database error for reports and dead letters. */
export function errorText(error: unknown): string {
  const e = error as {code?: unknown; message?: unknown}
  const message = String(e?.message ?? error)
    .replace(/\s+/g, ' ')
    .trim()
  return e?.code && !message.includes(String(e.code)) ? `${String(e.code)}: ${message}` : message
}

/** PostgreSQL 28P01 invalid_password, 28000 invalid_authorization_specification; MySQL 1045, 1044, 1698. */
const AUTH_CODES = new Set(['28P01', '28000', 'ER_ACCESS_DENIED_ERROR', 'ER_DBACCESS_DENIED_ERROR', 'ER_ACCESS_DENIED_NO_PASSWORD_ERROR'])
/** TLS negotiation: the server offers none (pg, mysql2), or its certificate is not trusted. */
const TLS_MESSAGE =
  /does not support SSL|Server does not support secure connection|self[- ]signed certificate|unable to (get|verify) (local issuer|the first) certificate|certificate|Hostname\/IP does not match|wrong version number/i

/** What a database error means for the caller: refused credentials, no TLS, unreachable, or a bad input. */
export function typedDatabaseError(error: unknown, db: {name: string; target: string}, input: {table?: string; column?: string; where?: string} = {}): unknown {
  if (error instanceof WbcError) return error
  const e = error as {code?: unknown; errno?: unknown; message?: unknown}
  const code = String(e?.code ?? '')
  const service = `database "${db.name}"`
  const reason = errorText(error)
  if (AUTH_CODES.has(code)) return new AuthenticationFailed(service, db.target, reason, {cause: error})
  if (!isStatementError(e ?? {}) && TLS_MESSAGE.test(String(e?.message ?? ''))) {
    return new ServiceUnavailable(service, db.target, `TLS: ${reason}`, {
      cause: error,
      hint: 'The connection asks for TLS (sslmode, ssl) that the server does not offer or whose certificate is not trusted: enable TLS on the server, trust its CA, or change sslmode.',
    })
  }
  if (isTransient(error)) return new ServiceUnavailable(service, db.target, reason, {cause: error})
  // The table, column and key values came from the caller: a type, cast or name error is theirs to fix.
  // PostgreSQL class 22 (data exception), 42P01 undefined table, 42703 undefined column; MySQL 1054, 1146, 1292, 1366.
  if (/^22...$/.test(code) || ['ER_TRUNCATED_WRONG_VALUE', 'ER_TRUNCATED_WRONG_VALUE_FOR_FIELD', 'ER_WARN_DATA_OUT_OF_RANGE'].includes(code)) {
    return new InvalidArgument(
      'where',
      `${input.where !== undefined ? `${input.where} ` : ''}does not fit the key column's type: ${reason}`,
      'Give the key as the column stores it (e.g. an integer for an integer id).',
    )
  }
  if (code === '42P01' || code === 'ER_NO_SUCH_TABLE' || /no such table/i.test(reason)) {
    return new InvalidArgument('table', `${input.table ?? ''} does not exist in ${service}: ${reason}`.replace(/^ /, ''), 'Check the table name and the connection.')
  }
  if (code === '42703' || code === 'ER_BAD_FIELD_ERROR' || /no such column/i.test(reason)) {
    return new InvalidArgument('column', `not found in ${input.table ?? 'the table'}: ${reason}`, 'Check the column names (and the primary key column, buffer.primaryKey).')
  }
  return error
}

const UNREACHABLE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ECONNABORTED',
  'PROTOCOL_CONNECTION_LOST',
  'ER_CON_COUNT_ERROR',
  'ER_SERVER_SHUTDOWN',
  'SQLITE_CANTOPEN',
])
const UNREACHABLE_MYSQL_ERRNO = new Set([1040, 1053, 2002, 2003, 2006, 2013])
const UNREACHABLE_MESSAGE =
  /Connection terminated|terminating connection|connection error|Connection lost|Timeout acquiring a connection|server closed the connection|ECONNREFUSED|ECONNRESET|socket hang up|the database system is (starting up|shutting down)/i

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
  // Refused credentials: the service will not serve us until someone fixes them (exit 3 as well).
  if (AUTH_CODES.has(code) || (typeof e.errno === 'number' && [1044, 1045, 1698].includes(e.errno))) return true
  // PostgreSQL SQLSTATE: 08 connection exception, 53300 too many connections, 57P01-03 shutdown / cannot connect now.
  if (/^(08...|53300|57P0[1-3])$/.test(code)) return true
  if (typeof e.errno === 'number' && UNREACHABLE_MYSQL_ERRNO.has(e.errno)) return true
  if (e.name === 'KnexTimeoutError') return true
  return !isStatementError(e) && UNREACHABLE_MESSAGE.test(String(e.message ?? ''))
}
