import type {Knex} from 'knex'

import type {Dialect} from '../config/connections.js'

/** The default of `buffer.statementTimeoutMs`. */
export const DEFAULT_STATEMENT_TIMEOUT_MS = 5000

const serverIsMariaDb = new WeakMap<object, Promise<boolean>>()

/**
 * Bounds how long the statements of one flush transaction may wait for locks (and run), so a row
 * another session holds locked fails the transaction with a transient error — retried later —
 * instead of stalling every flush. Call it first in the transaction. `ms <= 0`: no limit is set.
 *
 * PostgreSQL: `SET LOCAL lock_timeout` and `statement_timeout` (this transaction only).
 * MySQL/MariaDB: `SET SESSION innodb_lock_wait_timeout` (whole seconds, at least 1) and, on
 * MariaDB, `max_statement_time`; they stay on the pooled connection, which every flush
 * transaction sets again. SQLite: `PRAGMA busy_timeout` (how long a write waits for another
 * connection's write lock).
 */
export async function applyTransactionLimits(trx: Knex.Transaction | Knex, dialect: Dialect, ms: number, connection?: Knex): Promise<void> {
  if (!(ms > 0)) return
  const mariadb = dialect === 'mysql' && (await isMariaDb(trx, connection))
  for (const sql of limitStatements(dialect, ms, mariadb)) await trx.raw(sql)
}

/**
 * Runs `work` under the transaction's time limits and then gives a MySQL/MariaDB session its own
 * values back: SET SESSION outlives the transaction, and the connection may belong to the
 * application's pool (a knex handed to createWriteBuffer), whose later queries must not run under
 * a flush's `max_statement_time` or lock wait. (PostgreSQL's SET LOCAL ends with the transaction.)
 */
export async function withTransactionLimits<T>(trx: Knex.Transaction, dialect: Dialect, ms: number, connection: Knex | undefined, work: () => Promise<T>): Promise<T> {
  if (!(ms > 0)) return work()
  const mariadb = dialect === 'mysql' && (await isMariaDb(trx, connection))
  for (const sql of limitStatements(dialect, ms, mariadb)) await trx.raw(sql)
  let result: T
  try {
    result = await work()
  } catch (error) {
    // The session may be gone with the error; the error is what matters.
    for (const sql of restoreStatements(dialect, ms, mariadb)) await trx.raw(sql).catch(() => undefined)
    throw error
  }
  for (const sql of restoreStatements(dialect, ms, mariadb)) await trx.raw(sql)
  return result
}

/** The statements `applyTransactionLimits` runs (also shown by `flush --dry-run`). */
export function limitStatements(dialect: Dialect, ms: number, mariadb: boolean): string[] {
  if (!(ms > 0)) return []
  const limit = Math.ceil(ms)
  // One round trip: without bindings the driver sends both in one simple query.
  if (dialect === 'postgres') return [`SET LOCAL lock_timeout = ${limit}; SET LOCAL statement_timeout = ${limit}`]
  if (dialect === 'sqlite') return [`PRAGMA busy_timeout = ${limit}`]
  const seconds = Math.max(1, Math.ceil(limit / 1000))
  // The session's own values are kept in user variables, for `restoreStatements`.
  if (mariadb)
    return [
      'SET @wbc_lock_wait = @@SESSION.innodb_lock_wait_timeout, @wbc_statement_time = @@SESSION.max_statement_time',
      `SET SESSION innodb_lock_wait_timeout = ${seconds}, max_statement_time = ${limit / 1000}`,
    ]
  return ['SET @wbc_lock_wait = @@SESSION.innodb_lock_wait_timeout', `SET SESSION innodb_lock_wait_timeout = ${seconds}`]
}

/** What `withTransactionLimits` runs at the end of the transaction's work (MySQL/MariaDB only). */
export function restoreStatements(dialect: Dialect, ms: number, mariadb: boolean): string[] {
  if (!(ms > 0) || dialect !== 'mysql') return []
  return [mariadb ? 'SET SESSION innodb_lock_wait_timeout = @wbc_lock_wait, max_statement_time = @wbc_statement_time' : 'SET SESSION innodb_lock_wait_timeout = @wbc_lock_wait']
}

/** Whether a MySQL-protocol server is MariaDB (cached per connection when one is given). */
export function isMariaDb(trx: Knex.Transaction | Knex, connection?: Knex): Promise<boolean> {
  const ask = () => trx.raw('SELECT VERSION() AS v').then(([rows]) => /mariadb/i.test(String((rows as Array<{v: unknown}>)[0]?.v ?? '')))
  if (!connection) return ask()
  let known = serverIsMariaDb.get(connection)
  if (!known) {
    known = ask()
    known.catch(() => serverIsMariaDb.delete(connection))
    serverIsMariaDb.set(connection, known)
  }
  return known
}
