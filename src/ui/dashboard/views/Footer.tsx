import {Box, Text} from 'ink'

import {fit} from '../model.js'
import type {Confirming, View} from '../reducer.js'

/** The last lines: a question waiting for y/n, the running action, or the last message and the key hints. */
export function Footer({
  confirming,
  busy,
  message,
  view,
  columns,
  spinner,
  keyHints,
}: {
  confirming: Confirming | null
  busy: {label: string} | null
  message: string | null
  view: View
  columns: number
  spinner: string
  keyHints: boolean
}) {
  if (confirming) return <Text color="yellow">{fit(`${confirming.question} (y/n)`, columns)}</Text>
  if (busy) return <Text color="cyan">{fit(`${spinner} ${busy.label}…`, columns)}</Text>
  return (
    <Box flexDirection="column">
      <Text>{fit(message ?? '', columns)}</Text>
      {keyHints && <Text dimColor>{fit(hintLine(view === 'tables' ? TABLE_KEYS : OTHER_KEYS, columns), columns)}</Text>}
    </Box>
  )
}

const TABLE_KEYS = ['↑↓ select', 'f flush', 'F all', 'l locks', 'd dead letters', 's streams', 'e events', 'p pause']
const OTHER_KEYS = ['Esc back']
/** Always shown, at the end: how to learn the rest and how to leave. */
const LAST_KEYS = ['? help', 'q quit']

/** As many hints as fit in `columns`, in order, then `? help · q quit`, which always fit. */
export function hintLine(keys: string[], columns: number): string {
  const shown: string[] = []
  const line = (extra: string[]) => [...extra, ...LAST_KEYS].join(' · ')
  for (const key of keys) {
    if (line([...shown, key]).length > columns) break
    shown.push(key)
  }
  return line(shown)
}
