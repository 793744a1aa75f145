import {Box, Text} from 'ink'

import type {DeadLetter} from '../../../core/buffer/dead-letters.js'
import {formatRefusal} from '../../../core/sql/refusal.js'
import {fit} from '../model.js'

/** One table's dead letters, one line each. */
export function DeadLettersView({target, letters, selected, columns, height}: {target: string | null; letters: DeadLetter[]; selected: number; columns: number; height: number}) {
  const start = Math.max(0, Math.min(selected - height + 2, letters.length - (height - 1)))
  return (
    <Box flexDirection="column">
      <Text dimColor>{fit(`  dead letters of ${target ?? '-'} (Enter details, R retry, x drop, Esc back)`, columns)}</Text>
      {letters.length === 0 && <Text> none</Text>}
      {letters.slice(start, start + height - 1).map((letter, i) => (
        <Text key={letter.id} inverse={start + i === selected}>
          {/* The reason first: a narrow terminal cuts the entry, not why it was refused. */}
          {fit(`${start + i === selected ? '›' : ' '} ${letter.kind} ${formatRefusal(letter.reason)} — ${JSON.stringify(letter.entry)}`, columns)}
        </Text>
      ))}
    </Box>
  )
}
