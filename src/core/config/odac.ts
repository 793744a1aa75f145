import {ConfigError} from '../errors.js'
import type {WbcConfigInput} from './schema.js'

type Json = Record<string, unknown>

const isObject = (value: unknown): value is Json => Boolean(value) && typeof value === 'object' && !Array.isArray(value)

/** An ODAC database entry: `{type, host, port, user, password, database, filename, connectionLimit}`. */
function odacConnection(entry: Json, path: string, file: string): Record<string, unknown> {
  const type = String(entry.type ?? 'mysql').toLowerCase()
  if (type === 'sqlite' || type === 'sqlite3') {
    if (typeof entry.filename !== 'string') {
      throw new ConfigError(`${file}: ${path}.filename: expected the SQLite file name`, {file, path: `${path}.filename`})
    }
    return {client: 'better-sqlite3', connection: {filename: entry.filename}, useNullAsDefault: true}
  }
  const client = ['postgres', 'pg', 'postgresql'].includes(type) ? 'pg' : 'mysql2'
  const connection: Json = {}
  for (const field of ['host', 'port', 'user', 'password', 'database'] as const) {
    if (entry[field] !== undefined) connection[field] = entry[field]
  }
  const out: Json = {client, connection}
  if (typeof entry.connectionLimit === 'number') out.pool = {min: 0, max: entry.connectionLimit}
  return out
}

const looksLikeOneConnection = (value: Json) => ['type', 'host', 'filename', 'database', 'user'].some((field) => typeof value[field] === 'string')

/** node-redis client options (`{url}` or `{socket: {host, port}, password, database}`) → ioredis. */
function odacRedis(options: unknown): string | Json | undefined {
  if (!isObject(options)) return undefined
  if (typeof options.url === 'string') return options.url
  const socket = isObject(options.socket) ? options.socket : {}
  const out: Json = {}
  if (socket.host ?? options.host) out.host = socket.host ?? options.host
  if (socket.port ?? options.port) out.port = Number(socket.port ?? options.port)
  if (typeof options.username === 'string') out.username = options.username
  if (typeof options.password === 'string') out.password = options.password
  if (typeof options.database === 'number') out.db = options.database
  return out
}

/** Reads an `odac.json` as ODAC writes it: its `ipc`, `buffer` and `database` sections. */
export function fromOdac(raw: unknown, file: string): WbcConfigInput {
  if (!isObject(raw)) throw new ConfigError(`${file}: expected a JSON object at the top level`, {file})
  const out: WbcConfigInput = {}
  const ipc = isObject(raw.ipc) ? raw.ipc : {}
  const database = isObject(raw.database) ? raw.database : {}

  out.ipc = {driver: ipc.driver === 'redis' ? 'redis' : 'memory'}
  if (out.ipc.driver === 'redis') {
    const name = typeof ipc.redis === 'string' ? ipc.redis : 'default'
    const redis = odacRedis(isObject(database.redis) ? database.redis[name] : undefined)
    if (redis !== undefined) out.ipc.redis = redis as never
  }

  const {redis: _redis, ...sql} = database
  if (looksLikeOneConnection(sql)) {
    out.connections = {default: odacConnection(sql, 'database', file) as never}
  } else {
    const connections: Record<string, unknown> = {}
    for (const [name, entry] of Object.entries(sql)) {
      if (isObject(entry)) connections[name] = odacConnection(entry, `database.${name}`, file)
    }
    const names = Object.keys(connections)
    // ODAC's first named connection is its default one when none is called "default".
    if (names.length > 0 && !connections.default) connections.default = connections[names[0]]
    if (names.length > 0) out.connections = connections as never
  }

  if (isObject(raw.buffer)) {
    const buffer: Json = {}
    for (const field of ['flushInterval', 'checkpointInterval', 'maxQueueSize', 'primaryKey'] as const) {
      if (raw.buffer[field] !== undefined) buffer[field] = raw.buffer[field]
    }
    out.buffer = buffer as never
  }
  // ODAC keeps its checkpoint at <app>/storage/sessions.db.
  out.buffer = {checkpointPath: './storage/sessions.db', ...(out.buffer ?? {})}
  return out
}
