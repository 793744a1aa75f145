import {existsSync} from 'node:fs'

import {KeySpace, parseMember, parseTableMember} from '../buffer/keys.js'
import {stepsFor} from '../buffer/steps/index.js'
import type {TargetFilter} from '../buffer/target-filter.js'
import {resolveConnection} from '../config/connections.js'
import {identifierRule, isIdentifier} from '../config/identifiers.js'
import type {WbcConfig} from '../config/schema.js'
import {ExitCode, InvalidArgument, ServiceUnavailable, WbcError} from '../errors.js'
import type {Ipc} from '../ipc/types.js'
import type {Databases} from '../sql/databases.js'
import {errorText} from '../sql/errors.js'
import {listTables} from '../sql/list-tables.js'
import {closestNames} from './closest-names.js'

export interface TargetNames {
  tables?: string[]
  connections?: string[]
}

const PAGE = 1000

/**
 * Checks the connection and table names an operator typed before anything reads or writes with
 * them: a name that is not an identifier is a usage error; a connection neither configured nor in
 * the state, or a table found neither in the databases nor in the state, is exit 2 with the
 * closest names. A table that may exist in a database that cannot be read is exit 3: a typo must
 * never pass as "nothing pending". Returns the filter to use (absent lists: everything).
 */
export async function resolveTargets(ipc: Ipc, config: WbcConfig, given: TargetNames, options: {dbs?: Databases} = {}): Promise<TargetFilter> {
  const tables = unique(given.tables)
  const connections = unique(given.connections)
  for (const name of connections) if (!isIdentifier(name)) throw new InvalidArgument('--connection', `"${name}" is not a connection name (${identifierRule})`)
  for (const name of tables) if (!isIdentifier(name)) throw new InvalidArgument('--table', `"${name}" is not a table name (${identifierRule})`)
  if (connections.length === 0 && tables.length === 0) return {}

  const configured = Object.keys(config.connections)
  let state: StateNames | undefined
  const inState = async () => (state ??= await namesInState(ipc, config.ipc.prefix))

  const unknownConnections = connections.filter((c) => !configured.includes(c))
  if (unknownConnections.length > 0) {
    const known = await inState()
    for (const name of unknownConnections) {
      if (known.connections.has(name)) continue
      const candidates = [...new Set([...configured, ...known.connections])]
      throw unknownName('connection', name, candidates, `configured: ${configured.join(', ') || 'none'}`)
    }
  }

  if (tables.length > 0) {
    const selected = connections.length > 0 ? connections : configured
    const inDatabases = new Set<string>()
    const unreadable: Array<{name: string; target: string; error: unknown}> = []
    // knex loads only when a table name is checked against the databases.
    const dbs = options.dbs ?? new (await import('../sql/databases.js')).Databases(config.connections)
    try {
      for (const name of selected.filter((c) => configured.includes(c))) {
        try {
          const target = resolveConnection(name, config.connections[name])
          const file = target.dialect === 'sqlite' ? (target.knex.connection as {filename?: string}).filename : undefined
          // A SQLite file that does not exist holds no table (opening it would create it).
          if (file && file !== ':memory:' && !file.startsWith('file:') && !existsSync(file)) continue
          for (const table of await listTables(dbs.get(name))) inDatabases.add(table)
        } catch (error) {
          unreadable.push({name, target: safeTarget(name, config), error})
        }
      }
    } finally {
      if (!options.dbs) await dbs.close()
    }
    const missing = tables.filter((t) => !inDatabases.has(t))
    if (missing.length > 0) {
      const known = await inState()
      for (const name of missing) {
        const here = known.tables.get(name)
        if (here && (connections.length === 0 || connections.some((c) => here.has(c)))) continue
        if (unreadable.length > 0) {
          const [first] = unreadable
          throw new ServiceUnavailable(`database ${first.name}`, first.target, errorText(first.error), {
            hint: `Table "${name}" is not in the state, and whether the database has it cannot be checked. Start the database, or check the name.`,
          })
        }
        const candidates = [...new Set([...inDatabases, ...known.tables.keys()])]
        throw unknownName('table', name, candidates, `not in ${selected.length === 1 ? `database ${selected[0]}` : `the databases (${selected.join(', ')})`} nor in the state`)
      }
    }
  }
  return {...(connections.length > 0 ? {connection: connections} : {}), ...(tables.length > 0 ? {table: tables} : {})}
}

function unknownName(kind: 'table' | 'connection', name: string, candidates: string[], where: string): WbcError {
  const near = closestNames(name, candidates)
  const suggestion = near.length > 0 ? `; did you mean ${near.map((n) => `"${n}"`).join(' or ')}?` : ''
  return new WbcError(kind === 'table' ? 'UNKNOWN_TABLE' : 'UNKNOWN_CONNECTION', `unknown ${kind} "${name}" (${where})${suggestion}`, {
    exitCode: ExitCode.usage,
    hint: kind === 'table' ? 'See the tables with pending writes with `wbc status`.' : 'See the connections with `wbc config`.',
  })
}

// An empty name (`--table ''`, `--table a,`) is refused like any other bad name, never read as "all".
const unique = (names: string[] | undefined): string[] => [...new Set((names ?? []).map((n) => n.trim()))]

function safeTarget(name: string, config: WbcConfig): string {
  try {
    return resolveConnection(name, config.connections[name]).target
  } catch {
    return '(unresolved)'
  }
}

interface StateNames {
  connections: Set<string>
  /** table → the connections it appears under. */
  tables: Map<string, Set<string>>
}

/** Connections and tables the state holds anything for: pending, in flight, dead letters, blocked. */
async function namesInState(ipc: Ipc, prefix: string): Promise<StateNames> {
  const keys = new KeySpace(prefix)
  const names: StateNames = {connections: new Set(), tables: new Map()}
  const add = (parsed: {connection: string; table: string} | null) => {
    if (!parsed) return
    names.connections.add(parsed.connection)
    const under = names.tables.get(parsed.table) ?? new Set<string>()
    under.add(parsed.connection)
    names.tables.set(parsed.table, under)
  }
  const scan = async (key: string, each: (member: string) => void) => {
    let cursor = '0'
    do {
      const page = await ipc.sscan(key, cursor, PAGE)
      page.items.forEach(each)
      cursor = page.cursor
    } while (cursor !== '0')
  }
  await scan(keys.countersIndex, (m) => add(parseMember(m, true)))
  await scan(keys.updatesIndex, (m) => add(parseMember(m, false)))
  await scan(keys.queuesIndex, (m) => add(parseTableMember(m)))
  await scan(keys.deadLettersIndex, (m) => add(parseTableMember(m)))
  const batches: string[] = []
  await scan(keys.inflightIndex, (id) => batches.push(id))
  for (const id of batches) {
    // A damaged batch (or one that cannot be read) names no table.
    const batch = await stepsFor(ipc)
      .readBatch(keys.prefix, id, {rows: false})
      .catch(() => null)
    if (batch === null) continue
    try {
      add(parseTableMember(batch.table))
    } catch {
      // A damaged batch names no table; the flush quarantines it.
    }
  }
  for (const member of Object.keys((await ipc.hgetall(keys.blocked).catch(() => null)) ?? {})) add(parseTableMember(member))
  return names
}
