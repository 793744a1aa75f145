import {randomBytes} from 'node:crypto'
import {closeSync, constants, fchmodSync, fstatSync, fsyncSync, lstatSync, mkdirSync, openSync, renameSync, statSync, unlinkSync, writeSync, type Stats} from 'node:fs'
import {basename, dirname, join} from 'node:path'

import {ALLOW_FOREIGN_OWNER_ENV} from '../ownership.js'
import {ExitCode, WbcError} from '../errors.js'

/**
 * The only ways wbc creates or writes files: owner-only modes set at creation (never widened by
 * the umask and narrowed afterwards, which leaves a window), exclusive creation of temporary
 * files, and no writing through a symbolic link someone may have planted at the path.
 */

const {O_WRONLY, O_CREAT, O_EXCL, O_APPEND, O_NOFOLLOW, O_NONBLOCK} = constants
const uid = () => (typeof process.getuid === 'function' ? process.getuid() : null)

function lstatOrNull(path: string): Stats | null {
  try {
    return lstatSync(path)
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null
    throw error
  }
}

/** What is at a path, in words for an error ("a regular file", "a directory", …). */
export function kindOf(stats: Stats): string {
  if (stats.isSymbolicLink()) return 'a symbolic link'
  if (stats.isFile()) return 'a regular file'
  if (stats.isDirectory()) return 'a directory'
  if (stats.isSocket()) return 'a socket'
  if (stats.isFIFO()) return 'a named pipe'
  return 'a device'
}

const symlinkRefused = (path: string, what: string) =>
  new WbcError('SYMLINK_REFUSED', `${what} ${path} is a symbolic link; wbc does not write through links`, {
    exitCode: ExitCode.usage,
    hint: 'Give the path of the file itself, or remove the link.',
  })

const notAFile = (path: string, what: string, stats: Stats) =>
  new WbcError('NOT_A_FILE', `${what} ${path} is ${kindOf(stats)}, not a regular file`, {exitCode: ExitCode.usage, hint: 'Give the path of a regular file (or of one to be created).'})

/** Refuses a path that is a symbolic link (dangling or not) or anything but a regular file; absent is fine. */
export function assertPlainFileOrAbsent(path: string, what: string): void {
  const stats = lstatOrNull(path)
  if (!stats) return
  if (stats.isSymbolicLink()) throw symlinkRefused(path, what)
  if (!stats.isFile()) throw notAFile(path, what, stats)
}

/**
 * A folder only this user can enter, for the socket: it must be there, owned by this user and
 * closed to group and others BEFORE the socket is created in it (connecting needs the folder).
 * A missing folder is created 0700; an existing one that is open or foreign is an error naming the
 * fix — wbc does not change the mode of a folder it did not create. `allowShared` (sharing
 * intended: `ipc.allowForeignOwner` / WBC_ALLOW_FOREIGN_OWNER=1) skips the check.
 */
export function ensurePrivateFolder(folder: string, what: string, allowShared = false): void {
  const self = uid()
  // Created here 0700 (the umask only takes bits off); checked below all the same, in case
  // another process created it first.
  if (!lstatOrNull(folder)) mkdirSync(folder, {recursive: true, mode: 0o700})
  if (allowShared || process.env[ALLOW_FOREIGN_OWNER_ENV] === '1' || self === null) return
  const stats = statSync(folder)
  if (!stats.isDirectory()) throw new WbcError('NOT_A_FOLDER', `the folder of ${what} ${folder} is ${kindOf(stats)}`, {exitCode: ExitCode.usage, hint: `Give ${what} a path inside a folder.`})
  if (stats.uid !== self) {
    throw new WbcError('FOREIGN_OWNER', `the folder of ${what} ${folder} belongs to another user (uid ${stats.uid}; wbc runs as uid ${self}): they could reach ${what}`, {
      exitCode: ExitCode.usage,
      hint: `Give ${what} a folder of its own (one wbc creates, e.g. ./.wbc/), or, if sharing is intended, set "ipc.allowForeignOwner": true (or ${ALLOW_FOREIGN_OWNER_ENV}=1).`,
    })
  }
  const mode = stats.mode & 0o777
  if (mode & 0o077) {
    throw new WbcError('FOLDER_OPEN', `the folder of ${what} ${folder} is open to other users (mode ${mode.toString(8)}): they could connect while it starts`, {
      exitCode: ExitCode.usage,
      hint: `chmod 700 ${folder} (or give ${what} a folder of its own, which wbc creates 0700).`,
    })
  }
}

/**
 * Creates the file owner-only (0600) when it is not there — exclusively, not following a link —
 * so a library that opens it afterwards (LMDB, SQLite) never creates it with the umask's mode.
 * An existing regular file is left as it is; a link or anything else is refused. True if created.
 */
export function createPrivateFileIfAbsent(path: string, what: string, options: {allowLink?: boolean} = {}): boolean {
  let fd: number
  try {
    fd = openSync(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0o600)
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error
    const stats = lstatSync(path)
    if (stats.isSymbolicLink()) {
      if (options.allowLink && statTarget(path)?.isFile()) return false
      throw symlinkRefused(path, what)
    }
    if (!stats.isFile()) throw notAFile(path, what, stats)
    return false
  }
  try {
    fchmodSync(fd, 0o600) // The umask may have taken bits off; exactly 0600.
  } finally {
    closeSync(fd)
  }
  return true
}

function statTarget(path: string): Stats | null {
  try {
    return statSync(path)
  } catch {
    return null
  }
}

/**
 * Writes a whole file atomically: a temporary file with a random name in the same folder,
 * created exclusively (O_EXCL | O_NOFOLLOW, 0600), written and synced, given its final mode, then
 * renamed over the path. A symbolic link at the path is refused, not replaced or followed.
 */
export function writeFileAtomic(path: string, data: string | Uint8Array, what: string, mode = 0o600): void {
  assertPlainFileOrAbsent(path, what)
  const temporary = join(dirname(path), `.${basename(path)}.${randomBytes(8).toString('hex')}.tmp`)
  const fd = openSync(temporary, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0o600)
  let renamed = false
  try {
    try {
      writeSync(fd, typeof data === 'string' ? Buffer.from(data) : data)
      fchmodSync(fd, mode)
      fsyncSync(fd)
    } finally {
      closeSync(fd)
    }
    renameSync(temporary, path)
    renamed = true
  } finally {
    if (!renamed) {
      try {
        unlinkSync(temporary)
      } catch {
        // Already gone.
      }
    }
  }
}

/**
 * Opens a file for appending, owner-only: created 0600 (not following a link), a symbolic link
 * refused, anything but a regular file refused (a named pipe would block), a file of another user
 * refused, and an existing file's looser mode narrowed to 0600 (what it is about to hold is as
 * private as the state it comes from).
 */
export function openPrivateAppend(path: string, what: string): number {
  let fd: number
  try {
    fd = openSync(path, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_NONBLOCK, 0o600)
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    if (code === 'ELOOP' || lstatOrNull(path)?.isSymbolicLink()) throw symlinkRefused(path, what)
    if (code === 'ENXIO' || code === 'EISDIR') throw notAFile(path, what, statSync(path))
    throw error
  }
  try {
    const stats = fstatSync(fd)
    if (!stats.isFile()) throw notAFile(path, what, stats)
    const self = uid()
    if (self !== null && stats.uid !== self && process.env[ALLOW_FOREIGN_OWNER_ENV] !== '1') {
      throw new WbcError('FOREIGN_OWNER', `${what} ${path} belongs to another user (uid ${stats.uid}; wbc runs as uid ${self})`, {
        exitCode: ExitCode.usage,
        hint: `Give a file of your own (or a new path), or set ${ALLOW_FOREIGN_OWNER_ENV}=1 if appending to it is intended.`,
      })
    }
    if (stats.mode & 0o077) fchmodSync(fd, 0o600)
  } catch (error) {
    closeSync(fd)
    throw error
  }
  return fd
}
