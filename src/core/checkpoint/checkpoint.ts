import {spawnSync} from 'node:child_process'
import {chmodSync, existsSync, mkdirSync, statSync} from 'node:fs'
import {dirname} from 'node:path'
import {fileURLToPath} from 'node:url'

import {open, type RootDatabase} from 'lmdb'

import {decodeBatchShape} from '../buffer/steps/batch-format.js'
import type {StoredBatch} from '../buffer/steps/contract.js'
import {CorruptValue, ExitCode, WbcError} from '../errors.js'
import {failpoint} from '../failpoints.js'
import type {Json} from '../ipc/types.js'
import {createPrivateFileIfAbsent} from '../fs/safe-files.js'
import {ownEntryProblem} from './own-keys.js'
import {takeOwnerLock, type OwnerLock} from './owner-lock.js'

/** One of wbc's own keys as kept in the file: the store key, its type and its content (hash → object, list and set → array). */
export interface OwnEntry {
  key: string
  type: 'string' | 'hash' | 'list' | 'set'
  value: Json
}

/** What a checkpoint holds for one prefix: ODAC's format, wbc's in-flight batches and wbc's own keys. */
export interface CheckpointContents {
  counters: Array<{member: string; delta: number; base: number | null}>
  updates: Array<{member: string; fields: Record<string, Json>}>
  queues: Array<{table: string; rows: Json[]}>
  inflight: StoredBatch[]
  /** Dead letters, quarantine, the fence counter, generations, stats, ages, events, the last flush. */
  own: OwnEntry[]
  /** Entries of the wrong shape (never applied): their keys and what is wrong. */
  bad: Array<{key: string; problem: string}>
}

/** One key of the file: its new value, or undefined to remove it. */
export type FileWrite = [key: string, value: unknown]

export const emptyContents = (): CheckpointContents => ({counters: [], updates: [], queues: [], inflight: [], own: [], bad: []})

/** Where wbc's own key `{prefix}:{rest}` is kept in the file: `{prefix}:wbc:{rest}`, one range a full rewrite replaces. */
export const ownFileKey = (prefix: string, storeKey: string) => `${prefix}:wbc:${storeKey.slice(prefix.length + 1)}`

/** The ranges a full checkpoint replaces; `{prefix}:bad:` (entries set aside) and keys of other prefixes are never touched. */
const REWRITTEN = ['c', 'u', 'q', 'if', 'wbc'] as const

const OWN_TYPES = new Set(['string', 'hash', 'list', 'set'])
const isOwnValue = (type: string, value: unknown) => type === 'string' || (type === 'hash' ? Boolean(value) && typeof value === 'object' && !Array.isArray(value) : Array.isArray(value))

/**
 * LMDB refuses keys over 1,978 bytes, and one refused key fails the whole transaction (then every
 * claim waits). State keys can be longer (a hostile where): such a key is never in the file, so
 * removing it is skipped, and a snapshot leaves it out.
 */
const fits = (key: string) => Buffer.byteLength(key) <= 1900

const damaged = (path: string, detail: string, cause?: unknown) =>
  new WbcError('CHECKPOINT_DAMAGED', `the checkpoint at ${path} is damaged: ${detail}`, {
    exitCode: ExitCode.unexpected,
    hint: `Nothing was changed. Move it aside (mv ${path} ${path}.damaged) and start again: the state starts empty, and what only that file held is lost. Keep the file for inspection.`,
    cause,
  })

/** Reads the whole file in a child process first: a damaged file crashes the child, not this process. */
export function probeCheckpoint(path: string): void {
  // An empty file (created 0600 by Checkpoint.open, which crashed before LMDB wrote it) holds
  // nothing and is a new file to LMDB; a read-only reader would crash on it.
  if (isEmptyFile(path)) return
  const result = spawnSync(process.execPath, [fileURLToPath(new URL('./probe.mjs', import.meta.url)), path], {encoding: 'utf8', timeout: 60_000})
  if (result.status === 0) return
  const how = result.signal
    ? `reading it crashed the reader (${result.signal})`
    : (result.stderr.split('\n').find((line) => /Error/.test(line)) ?? result.stderr.trim().split('\n').at(-1) ?? `exit ${result.status}`)
  throw damaged(path, how)
}

export function isEmptyFile(path: string): boolean {
  try {
    const stats = statSync(path)
    return stats.isFile() && stats.size === 0
  } catch {
    return false
  }
}

/** `[{prefix}:{kind}:, {prefix}:{kind};)` — every key of one kind, whatever characters follow. */
const range = (prefix: string, kind: string) => ({start: `${prefix}:${kind}:`, end: `${prefix}:${kind};`})

/**
 * The memory driver's crash checkpoint: an LMDB file in ODAC's format (`{prefix}:c:{member}` →
 * `{delta, base}`, `{prefix}:u:{member}` → fields, `{prefix}:q:{table}` → rows), plus
 * `{prefix}:if:{batchId}` → in-flight batch and `{prefix}:wbc:{rest}` → wbc's own key
 * `{prefix}:{rest}` as `{type, value}`. Other keys in the file (ODAC's sessions) are never
 * touched. The process that opens it owns it (an OS-level lock) until it closes it or dies.
 * Writes are queued so they commit in the order they were issued.
 */
export class Checkpoint {
  private tail: Promise<unknown> = Promise.resolve()
  /** False after a write failed: claims are refused until a full checkpoint succeeds. */
  healthy = true

  private constructor(
    private readonly db: RootDatabase,
    readonly path: string,
    private readonly lock: OwnerLock,
  ) {}

  /** Takes ownership (CheckpointInUse when another live process has it), then opens the file. */
  static open(path: string): Checkpoint {
    const folder = dirname(path)
    if (!existsSync(folder)) mkdirSync(folder, {recursive: true, mode: 0o700})
    // Ownership first: nothing is read or written before this process is the only owner.
    const lock = takeOwnerLock(path)
    let db: RootDatabase
    try {
      if (existsSync(path)) probeCheckpoint(path)
      else createPrivateFileIfAbsent(path, 'the checkpoint') // 0600 from the start (LMDB would use the umask's mode); LMDB takes an empty file as new.
      // LMDB's own lock file beside it, likewise (never through a link).
      createPrivateFileIfAbsent(`${path}-lock`, "the checkpoint's LMDB lock file", {allowLink: true})
      try {
        // The settings ODAC opens its storage with (msgpack values, compression).
        db = open({path, compression: true})
      } catch (error) {
        throw new WbcError('CHECKPOINT_UNREADABLE', `the checkpoint at ${path} cannot be opened: ${(error as Error).message}`, {
          exitCode: ExitCode.unexpected,
          hint: 'Check the path and its permissions; move a damaged file aside (it is never deleted by wbc).',
          cause: error,
        })
      }
    } catch (error) {
      lock.release()
      throw error
    }
    // A file created by an earlier version (or by ODAC) with a looser mode is narrowed.
    for (const file of [path, `${path}-lock`]) {
      try {
        chmodSync(file, 0o600)
      } catch {
        // lmdb may keep a single file; either way the folder is owner-only.
      }
    }
    return new Checkpoint(db, path, lock)
  }

  /**
   * The state of a prefix. Entries of the wrong shape are not dropped: they are listed in `bad`
   * (and `setAside` moves them under `{prefix}:bad:` in the file, out of the rewritten ranges).
   */
  read(prefix: string): CheckpointContents {
    const contents = emptyContents()
    const bad = (key: unknown, problem: string) => contents.bad.push({key: String(key), problem})
    try {
      for (const {key, value} of this.db.getRange(range(prefix, 'c'))) {
        const record = value as {delta?: unknown; base?: unknown}
        if (typeof record?.delta !== 'number' || !Number.isFinite(record.delta)) bad(key, 'a counter entry without a numeric delta')
        else contents.counters.push({member: String(key).slice(prefix.length + 3), delta: record.delta, base: typeof record.base === 'number' ? record.base : null})
      }
      for (const {key, value} of this.db.getRange(range(prefix, 'u'))) {
        if (value && typeof value === 'object' && !Array.isArray(value)) contents.updates.push({member: String(key).slice(prefix.length + 3), fields: value as Record<string, Json>})
        else bad(key, 'an update entry that is not an object of fields')
      }
      for (const {key, value} of this.db.getRange(range(prefix, 'q'))) {
        if (Array.isArray(value)) contents.queues.push({table: String(key).slice(prefix.length + 3), rows: value as Json[]})
        else bad(key, 'a queue entry that is not a list of rows')
      }
      for (const {key, value} of this.db.getRange(range(prefix, 'if'))) {
        // Restore files a batch under its inner id, so an entry whose id is not its key's would
        // replace that batch; and its parts must be lists before anything is rebuilt from them.
        // Names are the flusher's to check (it quarantines the batch whole, mirrored here).
        try {
          contents.inflight.push(decodeBatchShape(value, String(key), String(key).slice(prefix.length + 4)))
        } catch (error) {
          bad(key, `an in-flight entry that is not a batch (${error instanceof CorruptValue ? error.message : String(error)})`)
        }
      }
      for (const {key, value} of this.db.getRange(range(prefix, 'wbc'))) {
        const {type, value: content} = (value ?? {}) as {type?: unknown; value?: unknown}
        const rest = String(key).slice(prefix.length + 5)
        if (!(typeof type === 'string' && OWN_TYPES.has(type) && isOwnValue(type, content))) bad(key, 'an entry of wbc that is not {type, value}')
        else {
          const problem = ownEntryProblem(rest, type, content as Json)
          if (problem) bad(key, problem)
          else contents.own.push({key: `${prefix}:${rest}`, type: type as OwnEntry['type'], value: content as Json})
        }
      }
    } catch (error) {
      throw damaged(this.path, (error as Error).message, error)
    }
    return contents
  }

  /** Moves entries of the wrong shape to `{prefix}:bad:{kind}:{member}` so that no rewrite drops them. */
  setAside(prefix: string, bad: CheckpointContents['bad']): Promise<void> {
    if (bad.length === 0) return Promise.resolve()
    return this.enqueue(() => {
      for (const {key} of bad) {
        const value = this.db.get(key)
        void this.db.put(`${prefix}:bad:${key.slice(prefix.length + 1)}`, value ?? null)
        void this.db.remove(key)
      }
    })
  }

  /** A full checkpoint: replaces every rewritten range of the prefix with `entries`. */
  writeAll(prefix: string, entries: FileWrite[]): Promise<void> {
    return this.enqueue(() => {
      for (const kind of REWRITTEN) for (const key of this.db.getKeys(range(prefix, kind))) void this.db.remove(key)
      failpoint('during-checkpoint')
      for (const [key, value] of entries) if (value !== undefined && fits(key)) void this.db.put(key, value)
    }).then(() => {
      this.healthy = true
    })
  }

  /**
   * One step's changes in one transaction (a claim: keys out, batch in; an ack: batch out), so the
   * file never holds a delta twice nor loses one that left the live state.
   */
  apply(writes: FileWrite[]): Promise<void> {
    return this.enqueue(() => {
      for (const [key, value] of writes) {
        if (!fits(key)) continue
        if (value === undefined) void this.db.remove(key)
        else void this.db.put(key, value)
      }
    })
  }

  /** Removes every rewritten key of a prefix (before an export writes a fresh copy). */
  clear(prefix: string): Promise<void> {
    return this.enqueue(() => {
      for (const kind of REWRITTEN) for (const key of this.db.getKeys(range(prefix, kind))) void this.db.remove(key)
    })
  }

  /** Resolves once every write issued so far has committed (or failed). */
  settled(): Promise<void> {
    return this.tail.then(() => undefined)
  }

  async close(): Promise<void> {
    try {
      await this.tail.catch(() => {})
      await this.db.close()
    } finally {
      this.lock.release()
    }
  }

  /**
   * Runs `work` inside one lmdb write transaction, after every earlier one. Inside it, `put` and
   * `remove` apply at once and return a promise already settled (hence the `void` on them): the
   * commit, and any failure, is reported by the transaction's own promise.
   */
  private enqueue(work: () => void): Promise<void> {
    const next = this.tail.then(() =>
      this.db.transaction(() => {
        work()
      }),
    )
    this.tail = next.catch(() => {})
    return next.then(
      () => undefined,
      (error) => {
        this.healthy = false
        throw new WbcError('CHECKPOINT_WRITE_FAILED', `writing the checkpoint at ${this.path} failed: ${(error as Error).message}`, {
          exitCode: ExitCode.unexpected,
          hint: 'Check free space and permissions of the checkpoint folder. Claims wait until a checkpoint succeeds again.',
          cause: error,
        })
      },
    )
  }
}
