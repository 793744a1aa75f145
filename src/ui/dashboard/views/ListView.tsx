import {Box, Text} from 'ink'

import {fit} from '../model.js'

/** A title and lines: the letter, events and help views. */
export function ListView({title, lines, columns}: {title: string; lines: string[]; columns: number}) {
  return (
    <Box flexDirection="column">
      <Text dimColor>{fit(`  ${title}`, columns)}</Text>
      {lines.length === 0 && <Text> nothing yet</Text>}
      {lines.map((line, i) => (
        <Text key={i}>{fit(`  ${line}`, columns)}</Text>
      ))}
    </Box>
  )
}
