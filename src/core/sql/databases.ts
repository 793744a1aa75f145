import knexFactory, {type Knex} from 'knex'
import {mkdirSync} from 'node:fs'
import {dirname} from 'node:path'

import {resolveConnection, type Dialect} from '../config/connections.js'
import {createPrivateFileIfAbsent} from '../fs/safe-files.js'
import type {ConnectionTarget} from '../config/schema.js'
import {ConfigError, WbcError} from '../errors.js'

export interface Database {
  name: string
  dialect: Dialect
  knex: Knex
  /** Where it points, password masked. */
  target: string
}

const dialectOf = (knex: Knex): Dialect => {
  const client = String((knex.client as {config?: {client?: unknown}}).config?.client ?? '')
  if (/sqlite/.test(client)) return 'sqlite'
  if (/pg|postgres/.test(client)) return 'postgres'
  return 'mysql'
}

/** Named SQL connections, opened on first use; knex instances handed in are used as they are. */
export class Databases {
  private readonly opened = new Map<string, Database>()
  private readonly owned = new Set<string>()

  constructor(
    private readonly targets: Record<string, ConnectionTarget>,
    given: Record<string, Knex> = {},
  ) {
    for (const [name, knex] of Object.entries(given)) {
      this.opened.set(name, {name, dialect: dialectOf(knex), knex, target: `${dialectOf(knex)} (given)`})
    }
  }

  names(): string[] {
    return [...new Set([...Object.keys(this.targets), ...this.opened.keys()])]
  }

  /** The connections opened so far (none is opened by asking). */
  openedList(): Database[] {
    return [...this.opened.values()]
  }

  has(name: string): boolean {
    return this.opened.has(name) || name in this.targets
  }

  get(name: string): Database {
    const open = this.opened.get(name)
    if (open) return open
    const target = this.targets[name]
    if (target === undefined) {
      throw new ConfigError(`connection "${name}" is not configured`, {
        path: `connections.${name}`,
        hint: `Add "${name}" under "connections" in the config (a URL or a knex config).`,
      })
    }
    const resolved = resolveConnection(name, target)
    if (resolved.dialect === 'sqlite') {
      const filename = (resolved.knex.connection as {filename?: string})?.filename
      if (filename && filename !== ':memory:' && !filename.startsWith('file:')) {
        // A database wbc creates is owner-only from the start (SQLite would use the umask's mode;
        // its -wal and -shm files take the database file's mode). An existing file is the user's.
        mkdirSync(dirname(filename), {recursive: true, mode: 0o700})
        try {
          createPrivateFileIfAbsent(filename, 'the SQLite database', {allowLink: true})
        } catch (error) {
          if (error instanceof WbcError) throw error // A link to nothing, a folder: named.
          // Permissions and the like: SQLite reports them when it opens the file.
        }
      }
    }
    const pool: Knex.PoolConfig =
      resolved.dialect === 'sqlite'
        ? {
            min: 1,
            max: 1,
            // WAL lets readers (wbc status, get()) work while a flush writes; busy_timeout waits for locks.
            afterCreate: (conn: {pragma(sql: string): unknown}, done: (error: Error | null, conn: unknown) => void) => {
              try {
                conn.pragma('journal_mode = WAL')
                conn.pragma('busy_timeout = 5000')
                done(null, conn)
              } catch (error) {
                done(error as Error, conn)
              }
            },
          }
        : {min: 0, max: 4}
    const quiet = () => {}
    // The core never prints: knex's own warnings would land on the application's console.
    const config: Knex.Config = {pool, acquireConnectionTimeout: 10000, log: {warn: quiet, error: quiet, deprecate: quiet, debug: quiet}, ...resolved.knex}
    const db: Database = {name, dialect: resolved.dialect, knex: knexFactory(config), target: resolved.target}
    this.opened.set(name, db)
    this.owned.add(name)
    return db
  }

  async close(): Promise<void> {
    const owned = [...this.owned].map((name) => this.opened.get(name)!)
    this.owned.clear()
    for (const db of owned) this.opened.delete(db.name)
    await Promise.all(owned.map((db) => db.knex.destroy()))
  }
}
