import {Box, Text} from 'ink'

import {formatDuration} from '../../../core/duration.js'
import {fit} from '../model.js'
import type {DashboardSnapshot} from '../source.js'

/** The first lines: the store, the lease, the last flush, the refresh and whether it is paused. */
export function Header({snapshot, unreadable, intervalMs, paused, columns}: {snapshot: DashboardSnapshot | null; unreadable: boolean; intervalMs: number; paused: boolean; columns: number}) {
  const status = snapshot?.status
  const lease = status?.lease
  const last = status?.lastFlush
  // What cannot be read now is unknown: neither the last values read nor "free"/"none".
  const known = snapshot !== null && !unreadable
  const leaseText = !known
    ? 'lease unknown'
    : lease
      ? `lease ${lease.owner === null ? 'ODAC (owner unknown)' : `${lease.host ?? '?'}:${lease.pid ?? '?'}`} age ${formatDuration(lease.ageMs)} ttl ${formatDuration(lease.ttlMs)} fence ${lease.fence ?? '-'}`
      : 'lease free'
  const lastText = !known
    ? 'last flush unknown'
    : last
      ? `last flush ${new Date(Number(last.startedAt)).toISOString().slice(11, 19)} ${String(last.status)} ${formatDuration(Number(last.durationMs))}`
      : 'no flush yet'
  return (
    <Box flexDirection="column">
      <Text bold>{fit(`wbc ${status ? `${status.driver} ${status.target} prefix ${status.prefix}` : 'connecting…'}`, columns)}</Text>
      <Text>{fit(`${leaseText} · ${lastText} · every ${formatDuration(intervalMs)} · ${paused ? 'PAUSED' : 'live'}`, columns)}</Text>
      {status?.rollback && (
        <Text color="red" bold>
          {fit(`STATE STORE ROLLED BACK (${status.rollback.connection}): flushing refused — run wbc recover --after-rollback`, columns)}
        </Text>
      )}
    </Box>
  )
}
