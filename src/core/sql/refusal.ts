import type {Dialect} from '../config/connections.js'

/**
 * Why the database refused an entry, reason first: the database's code, the constraint it named
 * and its own message, without the statement (knex puts the whole statement in front of the
 * message, which cut the reason off in every narrow view).
 */
export interface Refusal {
  /** PostgreSQL SQLSTATE (`23514`), MySQL/MariaDB errno (`1062`), SQLite extended code (`SQLITE_CONSTRAINT_CHECK`); null when unknown. */
  code: string | null
  /** The constraint (or for NOT NULL and UNIQUE on SQLite/MySQL, the column or key) the database named. */
  constraint: string | null
  /** The database's message alone. */
  message: string
  /** PostgreSQL's DETAIL (e.g. the failing row), when given. */
  detail?: string
}

/** Short texts kept bounded: a statement inlines the entry's values, which may be large. */
export const STATEMENT_LIMIT = 4000

const oneLine = (text: string) => text.replace(/\s+/g, ' ').trim()

/** From a live driver error (knex wraps pg, mysql2 and better-sqlite3 errors the same way). */
export function describeRefusal(error: unknown, dialect?: Dialect): {refusal: Refusal; statement: string | null} {
  const e = (error && typeof error === 'object' ? error : {}) as Record<string, unknown>
  const full = oneLine(String(e.message ?? error))
  let message: string
  let statement: string | null
  if (typeof e.sqlMessage === 'string' && full.endsWith(` - ${oneLine(e.sqlMessage)}`)) {
    // mysql2 keeps the database's own message: the statement is exactly what precedes it.
    message = oneLine(e.sqlMessage)
    statement = full.slice(0, full.length - message.length - 3)
  } else ({message, statement} = splitStatement(full, dialect))
  let code: string | null = null
  if (typeof e.errno === 'number' && (dialect === 'mysql' || typeof e.sqlMessage === 'string')) {
    // mysql2 names errnos after MySQL: MariaDB's own (4000 and up) would get a wrong name.
    code = e.errno < 4000 && typeof e.code === 'string' ? `${e.errno} ${e.code}` : String(e.errno)
  } else if (e.code !== undefined && e.code !== null) code = String(e.code)
  const constraint = typeof e.constraint === 'string' && e.constraint ? e.constraint : constraintIn(message)
  const detail = typeof e.detail === 'string' && e.detail ? oneLine(e.detail) : undefined
  return {refusal: {code, constraint, message, ...(detail ? {detail} : {})}, statement: statement ? bounded(statement) : null}
}

/**
 * From a dead letter's stored text (records written before the reason was kept apart):
 * `code: statement - message` as `errorText` wrote it, or any other text as the message.
 */
export function parseRefusalText(text: string): {refusal: Refusal; statement: string | null} {
  let rest = text
  let code: string | null = null
  const head = /^([A-Z0-9_]{2,40}|\d{4,5}): /.exec(rest)
  if (head && !/^(insert|update|select|with|delete)$/i.test(head[1])) {
    code = head[1]
    rest = rest.slice(head[0].length)
  }
  const {message, statement} = splitStatement(rest)
  return {refusal: {code, constraint: constraintIn(message), message}, statement: statement ? bounded(statement) : null}
}

/** `23514 (activity_amount_check): new row … violates …` — the one-line reason. */
export function formatRefusal(refusal: Refusal): string {
  const head = [refusal.code, refusal.constraint && `(${refusal.constraint})`].filter(Boolean).join(' ')
  return head ? `${head}: ${refusal.message}` : refusal.message
}

/**
 * Splits knex's `statement - message`. The separator is the first ` - ` outside quotes (string
 * literals inlined by knex, quoted identifiers), and only when the text starts like a statement.
 */
function splitStatement(text: string, dialect?: Dialect): {message: string; statement: string | null} {
  if (!/^\s*(insert|update|select|with|delete|set|begin|commit|rollback)\b/i.test(text)) return {message: text, statement: null}
  let quote: string | null = null
  for (let i = 0; i < text.length; i++) {
    const c = text[i]
    if (quote) {
      if (c === '\\' && quote === "'" && dialect !== 'postgres' && dialect !== 'sqlite') i++
      else if (c === quote) {
        if (text[i + 1] === quote) i++
        else quote = null
      }
      continue
    }
    if (c === "'" || c === '"' || c === '`') quote = c
    else if (c === ' ' && text.startsWith(' - ', i)) return {statement: text.slice(0, i), message: text.slice(i + 3)}
  }
  return {message: text, statement: null}
}

/** The constraint a message names, in the words of PostgreSQL, MySQL/MariaDB or SQLite. */
function constraintIn(message: string): string | null {
  const patterns = [
    /constraint "((?:[^"]|"")+)"/i, // PostgreSQL
    /CONSTRAINT `((?:[^`]|``)+)` failed/i, // MariaDB
    /Check constraint '((?:[^']|'')+)' is violated/i, // MySQL
    /for key '((?:[^']|'')+)'/i, // MySQL/MariaDB duplicate key
    /(?:CHECK|UNIQUE|NOT NULL|FOREIGN KEY|PRIMARY KEY) constraint failed: (.+)$/i, // SQLite
    /Column '((?:[^']|'')+)' cannot be null/i, // MySQL/MariaDB NOT NULL
  ]
  for (const pattern of patterns) {
    const match = pattern.exec(message)
    if (match) return match[1]
  }
  return null
}

function bounded(statement: string): string {
  return statement.length > STATEMENT_LIMIT ? `${statement.slice(0, STATEMENT_LIMIT - 1)}…` : statement
}
