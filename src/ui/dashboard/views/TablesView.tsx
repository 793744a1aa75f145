import {Box, Text} from 'ink'

import {formatDuration} from '../../../core/duration.js'
import {compact, fit, isHot, sparkline, type TableRow, type Thresholds} from '../model.js'

/** Pending rows per table, with rates and a sparkline; hot tables in red. */
export function TablesView({
  rows,
  known,
  readAt,
  selected,
  thresholds,
  columns,
  height,
  busy,
  spinner,
}: {
  rows: TableRow[]
  known: boolean
  readAt: number | null
  selected: number
  thresholds: Thresholds
  columns: number
  height: number
  busy: {rowId?: string} | null
  spinner: string
}) {
  const fixed = 2 + 8 + 7 + 8 + 5 + 5 + 7 + 7 + 7
  const spark = Math.max(0, Math.min(20, columns - fixed - 16))
  const name = Math.max(8, columns - fixed - spark - 1)
  const head = `  ${fit('table', name)}${fit('counter', 8, 'right')}${fit('upd', 7, 'right')}${fit('insert', 8, 'right')}${fit('infl', 5, 'right')}${fit('dead', 5, 'right')}${fit('oldest', 7, 'right')}${fit('in/s', 7, 'right')}${fit('out/s', 7, 'right')} ${spark ? fit('pending', spark) : ''}`
  const start = Math.max(0, Math.min(selected - height + 2, rows.length - (height - 1)))
  return (
    <Box flexDirection="column">
      <Text dimColor>{fit(head, columns)}</Text>
      {!known && (
        <Text color="yellow">
          {fit(
            readAt === null
              ? '  pending: unknown (the state has not been read yet)'
              : `  pending: unknown — the state cannot be read; ? marks figures last read at ${new Date(readAt).toISOString().slice(11, 19)}`,
            columns,
          )}
        </Text>
      )}
      {known && rows.length === 0 && <Text> nothing pending</Text>}
      {rows.slice(start, start + height - (known ? 1 : 2)).map((row, i) => {
        const index = start + i
        const mark = busy?.rowId === row.id ? spinner : index === selected ? '›' : ' '
        // Figures that cannot be read now are shown as `?`, never as the last ones read.
        const n = (value: number | null, width: number) => fit(known ? compact(value) : '?', width, 'right')
        const line = `${mark} ${fit(row.connection === 'default' ? row.table : row.id, name)}${n(row.counters.rows, 8)}${n(row.updates.rows, 7)}${n(row.inserts.rows, 8)}${n(row.inflight.batches, 5)}${n(row.deadLetters, 5)}${fit(known ? formatDuration(row.oldestPendingMs) : '?', 7, 'right')}${n(row.rateIn, 7)}${n(row.rateOut, 7)} ${spark ? sparkline(row.history, spark) : ''}`
        return (
          <Text key={row.id} inverse={index === selected} color={isHot(row, thresholds) ? 'red' : undefined}>
            {fit(line, columns)}
          </Text>
        )
      })}
    </Box>
  )
}
