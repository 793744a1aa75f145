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

/** The statements `applyTransactionLimits` runs (also shown by `flush --dry-run`). */
export function limitStatements(dialect: Dialect, ms: number, mariadb: boolean): string[] {
  if (!(ms > 0)) return []
  const limit = Math.ceil(ms)
  // One round trip: without bindings the driver sends both in one simple query.
  if (dialect === 'postgres') return [`SET LOCAL lock_timeout = ${limit}; SET LOCAL statement_timeout = ${limit}`]
  if (dialect === 'sqlite') return [`PRAGMA busy_timeout = ${limit}`]
  const seconds = Math.max(1, Math.ceil(limit / 1000))
  return [mariadb ? `SET SESSION innodb_lock_wait_timeout = ${seconds}, max_statement_time = ${limit / 1000}` : `SET SESSION innodb_lock_wait_timeout = ${seconds}`]
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
