import {Box, Text} from 'ink'

import {formatDuration} from '../../../core/duration.js'
import type {StreamInfo} from '../../../core/streams/streams.js'
import {compact, fit} from '../model.js'

/** The streams and queues under the prefix, with their compaction policies. */
export function StreamsView({streams, selected, columns, height}: {streams: StreamInfo[]; selected: number; columns: number; height: number}) {
  return (
    <Box flexDirection="column">
      <Text dimColor>{fit('  stream                    kind      length  oldest   policy   (c compact)', columns)}</Text>
      {streams.length === 0 && <Text> no streams</Text>}
      {streams.slice(0, height - 1).map((stream, i) => (
        <Text key={stream.key} inverse={i === selected}>
          {fit(
            `${i === selected ? '›' : ' '} ${fit(stream.name, 24)} ${fit(stream.kind, 7)}${fit(compact(stream.length), 9, 'right')}${fit(formatDuration(stream.oldestAgeMs), 8, 'right')}   ${stream.policy ? [stream.policy.keepKey && `key ${stream.policy.keepKey}`, stream.policy.maxCount !== undefined && `max ${stream.policy.maxCount}`, stream.policy.maxAgeMs !== undefined && `age ${formatDuration(stream.policy.maxAgeMs)}`].filter(Boolean).join(' ') : 'none'}`,
            columns,
          )}
        </Text>
      ))}
    </Box>
  )
}
