import {closeSync, constants, fchmodSync, fstatSync, ftruncateSync, lstatSync, openSync, readSync, realpathSync, writeSync} from 'node:fs'
import {basename, dirname, join} from 'node:path'

import {tryLock} from 'fs-native-extensions'

import {CheckpointInUse, ExitCode, WbcError} from '../errors.js'

/** The exclusive lock that makes one process the owner of a checkpoint, for that process's whole life. */
export interface OwnerLock {
  readonly path: string
  release(): void
}

/**
 * `<checkpoint>.lock` of the file the path names, wherever it is named from: a symbolic link to
 * the checkpoint (or a linked folder) is resolved first, so every name of one file takes one lock.
 */
export function ownerLockPathOf(checkpointPath: string): string {
  return `${realCheckpointPath(checkpointPath)}.lock`
}

function realCheckpointPath(path: string): string {
  try {
    return realpathSync(path)
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw lockFailed(path, error)
  }
  // Not there yet. A link to a missing file would be created through by LMDB under another name.
  let link = false
  try {
    link = lstatSync(path).isSymbolicLink()
  } catch {
    // Nothing at the path: the file is created here.
  }
  if (link) throw lockFailed(path, new Error('it is a symbolic link to a file that does not exist'))
  try {
    return join(realpathSync(dirname(path)), basename(path))
  } catch (error) {
    throw lockFailed(path, error)
  }
}

const lockFailed = (path: string, cause: unknown) =>
  new WbcError('CHECKPOINT_LOCK_FAILED', `the checkpoint ${path} cannot be resolved to one file: ${(cause as Error).message}`, {
    exitCode: ExitCode.unexpected,
    hint: 'Give buffer.checkpointPath as the path of the checkpoint file itself (or of where it is to be created).',
    cause,
  })

/**
 * Takes the checkpoint's owner lock: an OS-level exclusive lock on `<checkpoint>.lock` (an open
 * file description lock on Linux), so it is released by the kernel when the owner exits or is
 * killed — nothing is ever left stuck. The file holds the owner's pid, for the error the next
 * process gets. It is never deleted (deleting a lock file lets two processes lock two files).
 */
export function takeOwnerLock(checkpointPath: string): OwnerLock {
  const path = ownerLockPathOf(checkpointPath)
  let fd: number
  try {
    fd = openSync(path, constants.O_RDWR | constants.O_CREAT | constants.O_NOFOLLOW, 0o600)
  } catch (error) {
    throw new WbcError('CHECKPOINT_LOCK_FAILED', `the checkpoint's lock file ${path} cannot be opened: ${(error as Error).message}`, {
      exitCode: ExitCode.unexpected,
      hint: (error as NodeJS.ErrnoException).code === 'ELOOP' ? 'It is a symbolic link: remove it (wbc creates the lock file itself).' : 'Check the permissions of the checkpoint folder.',
      cause: error,
    })
  }
  try {
    if (!fstatSync(fd).isFile())
      throw new WbcError('CHECKPOINT_LOCK_FAILED', `the checkpoint's lock file ${path} is not a regular file`, {exitCode: ExitCode.unexpected, hint: 'Remove it; wbc creates the lock file itself.'})
    if (!tryLock(fd)) throw new CheckpointInUse(checkpointPath, holderPidOf(fd))
    fchmodSync(fd, 0o600)
    ftruncateSync(fd, 0)
    writeSync(fd, `${process.pid}\n`, 0)
  } catch (error) {
    closeSync(fd)
    throw error
  }
  let released = false
  return {
    path,
    release() {
      if (released) return
      released = true
      closeSync(fd) // Closing the only descriptor releases the lock.
    },
  }
}

function holderPidOf(fd: number): number | null {
  try {
    const buffer = Buffer.alloc(32)
    const text = buffer
      .subarray(0, readSync(fd, buffer, 0, 32, 0))
      .toString('utf8')
      .trim()
    return /^\d+$/.test(text) ? Number(text) : null
  } catch {
    return null
  }
}
