import {statSync} from 'node:fs'

import {ExitCode, WbcError} from './errors.js'

/** Set to 1 to use a socket or checkpoint that belongs to another user anyway. */
export const ALLOW_FOREIGN_OWNER_ENV = 'WBC_ALLOW_FOREIGN_OWNER'

/**
 * Refuses a socket or checkpoint that exists and belongs to another user: talking to someone
 * else's socket or reading their checkpoint is how state gets mixed up or leaked. Allowed when
 * the config says so (`ipc.allowForeignOwner`) or WBC_ALLOW_FOREIGN_OWNER=1.
 */
export function assertOwnFile(path: string, what: 'socket' | 'checkpoint', allow = false): void {
  if (allow || process.env[ALLOW_FOREIGN_OWNER_ENV] === '1' || typeof process.getuid !== 'function') return
  let uid: number
  try {
    uid = statSync(path).uid
  } catch {
    return // Not there yet: it will be created by this user.
  }
  const self = process.getuid()
  if (uid === self) return
  throw new WbcError('FOREIGN_OWNER', `the ${what} ${path} belongs to another user (uid ${uid}; wbc runs as uid ${self})`, {
    exitCode: ExitCode.usage,
    hint: `Run wbc as the user that owns it, or, if sharing it is intended, set "ipc.allowForeignOwner": true in the config (or ${ALLOW_FOREIGN_OWNER_ENV}=1).`,
  })
}
