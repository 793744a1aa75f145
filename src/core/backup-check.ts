import {resolve} from 'node:path'

import type {ExportMeta} from './checkpoint/export-meta.js'
import type {WbcConfig} from './config/schema.js'
import {ExitCode, WbcError} from './errors.js'
import {Databases} from './sql/databases.js'
import {FENCE_TABLE, fenceRow} from './sql/ledger.js'

/**
 * Whether a checkpoint given to `wbc recover --checkpoint` may be applied. The application's own
 * checkpoint is the live state (claims are mirrored into it before they are applied): always.
 * A backup holds writes as they were when it was exported; once a flush committed after that,
 * they may be in the database already, and applying them would count them twice.
 */
export interface BackupVerdict {
  /** own: the configured checkpoint; current: no flush committed since the export; moved-past: one did; unknown: no export record. */
  verdict: 'own' | 'current' | 'moved-past' | 'unknown'
  detail: string
  meta: ExportMeta | null
}

/** Each database's fence row for a prefix now (null where it cannot be read). */
export async function databaseMarks(config: WbcConfig): Promise<Record<string, {fence: number; seq: number} | null>> {
  const marks: Record<string, {fence: number; seq: number} | null> = {}
  const dbs = new Databases(config.connections)
  try {
    for (const connection of Object.keys(config.connections)) {
      try {
        const knex = dbs.get(connection).knex
        const row = (await knex.schema.hasTable(FENCE_TABLE)) ? await fenceRow(knex, config.ipc.prefix) : null
        marks[connection] = {fence: row?.fence ?? 0, seq: row?.seq ?? 0}
      } catch {
        marks[connection] = null
      }
    }
  } finally {
    await dbs.close()
  }
  return marks
}

export async function checkBackup(config: WbcConfig, path: string): Promise<BackupVerdict> {
  if (resolve(path) === resolve(config.buffer.checkpointPath)) return {verdict: 'own', detail: 'the application’s own checkpoint (the live state)', meta: null}
  const {readExportMeta} = await import('./checkpoint/export-meta.js')
  const meta = await readExportMeta(path, config.ipc.prefix)
  if (!meta) {
    return {verdict: 'unknown', detail: `${path} has no export record (not written by \`wbc checkpoint --out\`): whether the database already has its writes is unknown`, meta}
  }
  const now = await databaseMarks(config)
  const taken = new Date(meta.at).toISOString()
  for (const [connection, then] of Object.entries(meta.databases)) {
    const current = now[connection]
    if (then === null || current === undefined || current === null) {
      return {
        verdict: 'unknown',
        detail: `exported ${taken}; database "${connection}" ${then === null ? 'could not be read at export' : 'cannot be read now'}, so whether it moved past the backup is unknown`,
        meta,
      }
    }
    if (current.seq > then.seq || current.fence > then.fence) {
      return {
        verdict: 'moved-past',
        detail: `exported ${taken} (fence ${then.fence}, ${then.seq} flush commits); database "${connection}" has had ${current.seq - then.seq} flush commit(s) since (fence ${current.fence}): the backup's writes may be in it already`,
        meta,
      }
    }
  }
  return {verdict: 'current', detail: `exported ${taken}; no flush has committed since`, meta}
}

export class BackupOutdated extends WbcError {
  constructor(readonly check: BackupVerdict) {
    super('BACKUP_OUTDATED', `refusing to apply this checkpoint: ${check.detail}`, {
      exitCode: ExitCode.usage,
      hint: 'Applying a backup is right only when the database has not flushed since it was taken (e.g. the database was restored to that time too). If you are sure, pass --force; `--dry-run` shows what it holds.',
    })
  }
}
