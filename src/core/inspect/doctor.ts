import {accessSync, constants, existsSync, statSync} from 'node:fs'
import {dirname} from 'node:path'

import type {LoadedConfig} from '../config/load.js'
import {ExitCode, WbcError} from '../errors.js'
import {createIpc} from '../ipc/create.js'
import {Databases} from '../sql/databases.js'
import {typedDatabaseError} from '../sql/errors.js'
import {FENCE_TABLE, LEDGER_TABLE} from '../sql/ledger.js'
import type {RedisTarget} from '../ipc/redis/driver.js'
import {scanBadKeys} from './bad-keys.js'
import {fileModeFindings, keptFiles} from './file-modes.js'
import {persistenceWarning, readPersistence} from './persistence.js'
import type {BadKey} from './status.js'

export interface Check {
  name: string
  ok: boolean
  detail: string
  /** How to fix a failed check. */
  fix?: string
  /** The exit code a failure of this check stands for. */
  exitCode?: ExitCode
  /** The state check: the bad keys found (at most 100). */
  badKeys?: BadKey[]
  /** Passed, but with a risk worth knowing (shown as a warning; the exit code stays 0). */
  warning?: string
}

/** Checks what wbc needs: config, state store, each database, ledger tables, socket and checkpoint. */
export async function runDoctor(loaded: LoadedConfig): Promise<Check[]> {
  const {config} = loaded
  const checks: Check[] = [{name: 'config', ok: true, detail: loaded.file ? `${loaded.file} (${loaded.format})` : 'built-in defaults'}]

  if (config.ipc.driver === 'redis') {
    let reachable = false
    checks.push(
      await probe('redis', async () => {
        const ipc = await createIpc(config.ipc)
        const address = ipc.address
        await ipc.close()
        reachable = true
        return `reachable at ${address}`
      }),
    )
    if (reachable) {
      checks.push(await stateCheck(loaded))
      checks.push(await persistenceCheck(config.ipc.redis as RedisTarget))
      checks.push(await rollbackCheck(loaded))
    }
  } else {
    const socket = config.ipc.socket
    checks.push(
      await probe('socket', async () => {
        if (!existsSync(socket))
          throw new WbcError('NO_APP', `no application serves ${socket}`, {
            exitCode: ExitCode.unavailable,
            hint: 'Start the application (or `wbc demo`); commands that read the state need it running.',
          })
        const mode = statSync(socket).mode & 0o777
        if (mode & 0o077) throw new WbcError('SOCKET_OPEN', `${socket} is readable by others (mode ${mode.toString(8)})`, {exitCode: ExitCode.usage, hint: `chmod 600 ${socket}`})
        const ipc = await createIpc(config.ipc, {role: 'socket'})
        await ipc.close()
        return `${socket} answers (mode 600)`
      }),
    )
    if (checks.at(-1)!.ok) {
      checks.push(await stateCheck(loaded))
      checks.push(await rollbackCheck(loaded))
    }
    const checkpoint = config.buffer.checkpointPath
    checks.push(
      await probe('checkpoint', async () => {
        const folder = existsSync(checkpoint) ? checkpoint : dirname(checkpoint)
        if (!existsSync(folder)) return `${checkpoint} will be created on first start`
        accessSync(folder, constants.W_OK)
        if (existsSync(checkpoint)) {
          // lmdb loads only here; a damaged file is read in a child process.
          const {probeCheckpoint} = await import('../checkpoint/checkpoint.js')
          probeCheckpoint(checkpoint)
        }
        const mode = statSync(checkpoint === folder ? checkpoint : folder).mode & 0o777
        return `${checkpoint} writable${mode & 0o077 && existsSync(checkpoint) ? ` (warning: mode ${mode.toString(8)}, expected 600)` : ''}`
      }),
    )
  }

  const files = filesCheck(config)
  if (files) checks.push(files)

  const dbs = new Databases(config.connections)
  try {
    for (const name of Object.keys(config.connections)) {
      checks.push(
        await probe(`database ${name}`, async () => {
          const db = dbs.get(name)
          // A refused password or missing TLS is named as such, with its own fix.
          await db.knex.raw('SELECT 1').catch((error: unknown) => Promise.reject(typedDatabaseError(error, db)))
          const ledger = (await db.knex.schema.hasTable(LEDGER_TABLE)) && (await db.knex.schema.hasTable(FENCE_TABLE))
          return `${db.target} answers; ledger tables ${ledger ? 'present' : 'not yet created (created on first flush)'}`
        }),
      )
    }
  } finally {
    await dbs.close()
  }
  return checks
}

/**
 * The socket, the checkpoint, their folders and lock files, and SQLite files must be this user's
 * alone: a warning (with the fix) for each that is open to others or belongs to another user.
 * Null when the config keeps no such files (Redis with a server database).
 */
function filesCheck(config: LoadedConfig['config']): Check | null {
  const kept = keptFiles(config)
  if (kept.length === 0) return null
  const findings = fileModeFindings(kept)
  if (findings.length === 0) return {name: 'files', ok: true, detail: 'the socket, checkpoint and database files that exist are owner-only'}
  const warning = findings.map((f) => f.problem).join('; ')
  return {name: 'files', ok: true, detail: warning, warning, fix: findings.map((f) => f.fix).join('; ')}
}

/** Keys under the prefix that cannot be flushed as they are, or were quarantined: named, with the fix. */
async function stateCheck(loaded: LoadedConfig): Promise<Check> {
  const {config} = loaded
  const prefix = config.ipc.prefix
  const ipc = await createIpc(config.ipc, {role: config.ipc.driver === 'memory' ? 'socket' : 'auto'})
  try {
    const {badKeys, total} = await scanBadKeys(ipc, prefix)
    if (total === 0) return {name: 'state', ok: true, detail: `no bad keys under ${prefix}:`}
    const shown = badKeys.slice(0, 10).map((b) => `${b.key} (${b.problem})`)
    return {
      name: 'state',
      ok: false,
      detail: `${total} bad key(s) under ${prefix}: ${shown.join('; ')}${total > shown.length ? `; and ${total - shown.length} more (--json lists ${badKeys.length})` : ''}`,
      fix: `\`wbc flush\` moves keys that cannot be flushed to ${prefix}:bad:* (reasons in the hash ${prefix}:idx:bad) and flushes the rest; inspect them, then delete them and their ${prefix}:idx:bad fields.`,
      exitCode: ExitCode.partial,
      badKeys,
    }
  } catch (error) {
    return {name: 'state', ok: false, detail: (error as Error).message, fix: 'Check that the state store answers.', exitCode: ExitCode.unavailable}
  } finally {
    await ipc.close()
  }
}

/** How the Redis persists: without an append-only file a restart can bring back what was flushed. */
async function persistenceCheck(target: RedisTarget): Promise<Check> {
  try {
    const p = await readPersistence(target)
    const warning = persistenceWarning(p)
    if (warning) return {name: 'redis persistence', ok: true, detail: warning, warning}
    return {name: 'redis persistence', ok: true, detail: `append-only file on (appendfsync ${p.appendfsync ?? '?'})`}
  } catch (error) {
    return {name: 'redis persistence', ok: true, detail: `unknown: ${(error as Error).message}`, warning: `unknown: ${(error as Error).message}`}
  }
}

/** The state store against each database: a store restored from an older snapshot must not flush. */
async function rollbackCheck(loaded: LoadedConfig): Promise<Check> {
  const {config} = loaded
  const ipc = await createIpc(config.ipc, {role: config.ipc.driver === 'memory' ? 'socket' : 'auto'})
  try {
    const {assessRollback} = await import('../recover-rollback.js')
    const a = await assessRollback(config, ipc)
    if (!a.rolledBack) return {name: 'rollback', ok: true, detail: `the state store is not behind any database (store fence ${a.store.fence})`}
    const behind = a.databases.filter((d) => d.behind).map((d) => `database ${d.connection}: ${d.behind}`)
    const why = [...(a.flagged ? [`a flush found (${new Date(a.flagged.at).toISOString()}, ${a.flagged.connection}): ${a.flagged.reason}`] : []), ...behind]
    return {
      name: 'rollback',
      ok: false,
      detail: `the state store is behind the database — ${why.join('; ')}; flushing is refused`,
      fix: '`wbc recover --after-rollback --dry-run` shows what may be applied again; `wbc recover --after-rollback --yes` resumes flushing.',
      exitCode: ExitCode.rollback,
    }
  } catch (error) {
    return {name: 'rollback', ok: false, detail: (error as Error).message, fix: 'Check that the state store and the databases answer.', exitCode: ExitCode.unavailable}
  } finally {
    await ipc.close()
  }
}

async function probe(name: string, work: () => Promise<string>): Promise<Check> {
  try {
    return {name, ok: true, detail: await work()}
  } catch (error) {
    const e = error as Error & {hint?: string; exitCode?: number; code?: string}
    const exitCode = e instanceof WbcError ? e.exitCode : ExitCode.unavailable
    return {name, ok: false, detail: e.message, fix: e.hint ?? 'Check that the service runs and that the configuration points at it.', exitCode}
  }
}
