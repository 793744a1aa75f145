import {hostname} from 'node:os'

import type {LeaseRecord} from '../ipc/types.js'

/**
 * Whether a lease holder's process still runs: known only for a holder on this host (its record
 * names this host and a pid). `process.kill(pid, 0)` sends nothing; ESRCH means no such process,
 * EPERM one that runs under another user. null: another host, or an owner that is not recorded.
 */
export function isAlive(record: Pick<LeaseRecord, 'host' | 'pid'>): boolean | null {
  if (record.pid === null || record.host !== hostname()) return null
  try {
    process.kill(record.pid, 0)
    return true
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'
  }
}
