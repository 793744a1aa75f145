import {Box, Text} from 'ink'

import {formatDuration} from '../../../core/duration.js'
import {fit} from '../model.js'
import type {DashboardSnapshot} from '../source.js'

/** The leases held, with their holders; a holder known to be dead in yellow. */
export function LocksView({snapshot, selected, columns, height}: {snapshot: DashboardSnapshot | null; selected: number; columns: number; height: number}) {
  const locks = snapshot?.locks ?? []
  return (
    <Box flexDirection="column">
      <Text dimColor>{fit('  key                          holder                alive   age     ttl   fence', columns)}</Text>
      {locks.length === 0 && <Text> no leases held</Text>}
      {locks.slice(0, height - 1).map((lock, i) => (
        <Text key={lock.key} inverse={i === selected} color={lock.alive === false ? 'yellow' : undefined}>
          {fit(
            `${i === selected ? '›' : ' '} ${fit(lock.key, 28)} ${fit(lock.legacy ? 'ODAC (unknown)' : `${lock.host ?? '?'}:${lock.pid ?? '?'}`, 21)} ${fit(lock.alive === null ? '?' : lock.alive ? 'yes' : 'no', 6)}${fit(formatDuration(lock.ageMs), 7, 'right')}${fit(formatDuration(lock.ttlMs), 7, 'right')}${fit(String(lock.fence ?? '-'), 7, 'right')}`,
            columns,
          )}
        </Text>
      ))}
    </Box>
  )
}
