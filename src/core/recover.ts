import {existsSync} from 'node:fs'

import {BackupOutdated, checkBackup, type BackupVerdict} from './backup-check.js'
import {createWriteBuffer} from './buffer/write-buffer.js'
import type {FlushProgress, FlushReport} from './buffer/flusher.js'
import {flushWhenLeaseFree} from './buffer/wait-for-lease.js'
import {Checkpoint, type CheckpointContents} from './checkpoint/checkpoint.js'
import type {WbcConfig} from './config/schema.js'
import {ExitCode, LeaseHeld, ServiceUnavailable, WbcError} from './errors.js'
import {createIpc} from './ipc/create.js'
import {isAlive} from './inspect/locks.js'
import type {Ipc, LeaseRecord} from './ipc/types.js'
import {assertOwnFile} from './ownership.js'
import {KeySpace} from './buffer/keys.js'

export interface RecoverSummary {
  counters: number
  updates: number
  inserts: number
  batches: number
}

export interface RecoverResult {
  /** inflight: batches left in flight were finished; checkpoint: an LMDB checkpoint was applied offline. */
  mode: 'inflight' | 'checkpoint'
  checkpoint: string | null
  dryRun: boolean
  found: RecoverSummary
  report: FlushReport | null
  /** Checkpoint mode: whether the file may be applied (a backup the database moved past may not, without force). */
  backup?: BackupVerdict
  /**
   * Dry run: batches in flight with a live flusher (it holds the flush lease and finishes every batch
   * in flight itself), which `found` does not count as left behind.
   */
  inProgress?: {batches: number; host: string | null; pid: number | null}
}

const summarize = (contents: CheckpointContents): RecoverSummary => ({
  counters: contents.counters.length,
  updates: contents.updates.length,
  inserts: contents.queues.reduce((n, q) => n + q.rows.length, 0),
  batches: contents.inflight.length,
})

/**
 * Finishes what a crash left: batches in flight (any driver), and for the memory driver with no
 * application running, the LMDB checkpoint (wbc's or ODAC's), applied through a private state
 * whose claims and acks are written back to the file, so a second run applies nothing. Opening
 * the checkpoint takes its owner lock for the whole run (a dry run too): an application starting
 * meanwhile is refused with CHECKPOINT_IN_USE, and so is this run while an application (or
 * another run) owns it — a running application that serves no socket is caught there.
 */
export async function recover(
  config: WbcConfig,
  options: {
    checkpointPath?: string
    dryRun?: boolean
    force?: boolean
    onProgress?: (progress: FlushProgress) => void
    /** Stops the run cleanly (FlushInterrupted): see FlushFilter.signal. */
    signal?: AbortSignal
    /** While another live process holds the flush lease, wait up to this long for it (batches in flight only). */
    waitMs?: number
    onWait?: (holder: LeaseRecord | null, leftMs: number) => void
  } = {},
): Promise<RecoverResult> {
  const memory = config.ipc.driver === 'memory'
  const appAlive = memory ? await socketAnswers(config) : false
  const checkpointPath = options.checkpointPath ?? (memory && !appAlive ? config.buffer.checkpointPath : undefined)

  if (checkpointPath) {
    if (appAlive && (options.checkpointPath === undefined || options.checkpointPath === config.buffer.checkpointPath)) {
      throw new LeaseHeld(config.buffer.checkpointPath, 'the running application (it keeps this checkpoint itself)')
    }
    if (!existsSync(checkpointPath)) {
      throw new WbcError('CHECKPOINT_MISSING', `no checkpoint at ${checkpointPath}`, {
        exitCode: ExitCode.usage,
        hint: 'Pass the checkpoint with --checkpoint PATH (ODAC keeps it at storage/sessions.db).',
      })
    }
    assertOwnFile(checkpointPath, 'checkpoint', config.ipc.allowForeignOwner)
    const backup = await checkBackup(config, checkpointPath)
    const file = Checkpoint.open(checkpointPath)
    let held: RecoverSummary
    try {
      held = summarize(file.read(config.ipc.prefix))
    } finally {
      await file.close()
    }
    if (options.dryRun) return {mode: 'checkpoint', checkpoint: checkpointPath, dryRun: true, found: held, report: null, backup}
    // A file holding nothing applies nothing (a backup applied once already, run again).
    const empty = held.counters + held.updates + held.inserts + held.batches === 0
    if (!empty && !options.force && (backup.verdict === 'moved-past' || backup.verdict === 'unknown')) throw new BackupOutdated(backup)
    const wb = await createWriteBuffer(
      {...config, ipc: {...config.ipc, driver: 'memory'}, buffer: {...config.buffer, checkpointPath}},
      {
        role: 'primary',
        serveSocket: false,
        timers: false,
        onProgress: options.onProgress,
      },
    )
    const found = await countPending(wb.ipc, config.ipc.prefix)
    let report: FlushReport
    try {
      report = await wb.flush({signal: options.signal})
    } finally {
      await wb.close()
    }
    return {mode: 'checkpoint', checkpoint: checkpointPath, dryRun: false, found, report, backup}
  }

  const wb = await createWriteBuffer(config, {role: memory ? 'socket' : 'auto', timers: false, checkpoint: false, onProgress: options.onProgress})
  try {
    const found = {counters: 0, updates: 0, inserts: 0, batches: await wb.ipc.scard(`${config.ipc.prefix}:idx:inflight`)}
    if (options.dryRun) {
      // A flush recovers every batch in flight before its own work: while a live process holds the
      // lease, the batches are its work in progress, not left behind (a real run would exit 4).
      const lease = found.batches > 0 ? await wb.ipc.inspectLock(`${config.ipc.prefix}:lock:flush`) : null
      if (lease && isAlive(lease) !== false) {
        const inProgress = {batches: found.batches, host: lease.host, pid: lease.pid}
        return {mode: 'inflight', checkpoint: null, dryRun: true, found: {...found, batches: 0}, report: null, inProgress}
      }
      return {mode: 'inflight', checkpoint: null, dryRun: true, found, report: null}
    }
    const report = await flushWhenLeaseFree((f) => wb.flush(f), {recoverOnly: true, signal: options.signal}, {waitMs: options.waitMs ?? 0, onWait: options.onWait})
    return {mode: 'inflight', checkpoint: null, dryRun: false, found, report}
  } finally {
    await wb.disconnect()
  }
}

async function countPending(ipc: Ipc, prefix: string): Promise<RecoverSummary> {
  const keys = KeySpace.of(prefix)
  let inserts = 0
  for (const table of await ipc.smembers(keys.queuesIndex)) inserts += await ipc.llen(keys.queue(table))
  return {
    counters: await ipc.scard(keys.countersIndex),
    updates: await ipc.scard(keys.updatesIndex),
    inserts,
    batches: await ipc.scard(keys.inflightIndex),
  }
}

async function socketAnswers(config: WbcConfig): Promise<boolean> {
  try {
    const ipc = await createIpc(config.ipc, {role: 'socket'})
    await ipc.close()
    return true
  } catch (error) {
    if (error instanceof ServiceUnavailable) return false
    throw error
  }
}
