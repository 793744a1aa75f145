import type {Knex} from 'knex'

import {ConfigError} from '../errors.js'
import {maskText} from './mask.js'
import type {ConnectionTarget} from './schema.js'

export type Dialect = 'sqlite' | 'postgres' | 'mysql'

const CLIENTS: Record<string, {client: string; dialect: Dialect}> = {
  'better-sqlite3': {client: 'better-sqlite3', dialect: 'sqlite'},
  sqlite3: {client: 'better-sqlite3', dialect: 'sqlite'},
  sqlite: {client: 'better-sqlite3', dialect: 'sqlite'},
  pg: {client: 'pg', dialect: 'postgres'},
  postgres: {client: 'pg', dialect: 'postgres'},
  postgresql: {client: 'pg', dialect: 'postgres'},
  mysql: {client: 'mysql2', dialect: 'mysql'},
  mysql2: {client: 'mysql2', dialect: 'mysql'},
  mariadb: {client: 'mysql2', dialect: 'mysql'},
}

export interface ResolvedConnection {
  name: string
  dialect: Dialect
  knex: Knex.Config
  /** Where it points, safe to show: the password is masked. */
  target: string
}

/** Turns a connection URL or a knex config into a knex config, its dialect and a masked label. */
export function resolveConnection(name: string, target: ConnectionTarget): ResolvedConnection {
  if (typeof target === 'string') return fromUrl(name, target)
  const known = CLIENTS[String(target.client)]
  if (!known) {
    throw new ConfigError(`connection "${name}": unknown client "${String(target.client)}"`, {
      path: `connections.${name}.client`,
      hint: 'Use "better-sqlite3", "pg" or "mysql2".',
    })
  }
  const knex = {...target, client: known.client} as Knex.Config
  if (known.dialect === 'sqlite' && knex.useNullAsDefault === undefined) knex.useNullAsDefault = true
  return {name, dialect: known.dialect, knex, target: describeKnex(known.dialect, knex)}
}

function fromUrl(name: string, url: string): ResolvedConnection {
  const scheme = /^([a-z0-9+]+):/i.exec(url)?.[1]?.toLowerCase()
  const known = scheme ? (CLIENTS[scheme] ?? (scheme === 'file' ? CLIENTS.sqlite : undefined)) : undefined
  if (!known) {
    throw new ConfigError(`connection "${name}": unsupported URL ${maskText(url)}`, {
      path: `connections.${name}`,
      hint: 'Use postgres://…, mysql://…, mariadb://… or sqlite:path/to/file.sqlite.',
    })
  }
  if (known.dialect === 'sqlite') {
    const filename = url.replace(/^(sqlite|file):(\/\/)?/i, '')
    if (!filename) {
      throw new ConfigError(`connection "${name}": the SQLite URL names no file`, {
        path: `connections.${name}`,
        hint: 'Write it as sqlite:./data/app.sqlite (or sqlite::memory:).',
      })
    }
    return {
      name,
      dialect: 'sqlite',
      knex: {client: 'better-sqlite3', connection: {filename}, useNullAsDefault: true},
      target: `sqlite:${filename}`,
    }
  }
  // knex's pg and mysql2 clients take a connection string; mariadb:// is spelled mysql:// there.
  const connection = known.dialect === 'mysql' ? url.replace(/^mariadb:/i, 'mysql:') : url
  return {name, dialect: known.dialect, knex: {client: known.client, connection}, target: maskText(url)}
}

function describeKnex(dialect: Dialect, knex: Knex.Config): string {
  const conn = knex.connection as Record<string, unknown> | string | undefined
  if (typeof conn === 'string') return maskText(conn)
  if (!conn || typeof conn !== 'object') return `${dialect}:(unknown)`
  // pg's connectionString and mysql2's uri stand for the whole connection.
  for (const field of ['connectionString', 'uri']) if (typeof conn[field] === 'string') return maskText(conn[field])
  if (dialect === 'sqlite') return `sqlite:${String(conn.filename ?? '')}`
  const scheme = dialect === 'postgres' ? 'postgres' : 'mysql'
  const user = conn.user ? `${String(conn.user)}${conn.password ? ':***' : ''}@` : ''
  const port = conn.port ? `:${String(conn.port)}` : ''
  return `${scheme}://${user}${String(conn.host ?? 'localhost')}${port}/${String(conn.database ?? '')}`
}
