import {ExitCode, WbcError} from '../errors.js'
import {closestNames} from '../inspect/closest-names.js'
import type {Ipc} from '../ipc/types.js'
import {listStreams} from './streams.js'

/**
 * A stream named on the command line must exist, or be one `known` vouches for while empty (the
 * event stream, a configured one, the queue of a known table): a typo is exit 2 naming it and the
 * closest stream names, never "kept 0 of 0".
 */
export async function requireStream(ipc: Ipc, prefix: string, key: string, known: (name: string) => Promise<boolean>): Promise<void> {
  const type = await ipc.type(key)
  if (type === 'list') return
  const name = key.slice(prefix.length + 1)
  // A known stream that is empty right now (Redis drops an empty list) is no typo.
  if (type === 'none' && (await known(name))) return
  if (type !== 'none') throw new WbcError('NO_SUCH_STREAM', `${name} is a ${type}, not a stream`, {exitCode: ExitCode.usage, hint: 'See `wbc streams` for their names.'})
  const near = closestNames(
    name,
    (await listStreams(ipc, prefix, {})).map((s) => s.name),
  )
  throw new WbcError('NO_SUCH_STREAM', `no stream "${name}" under the prefix ${prefix}${near.length > 0 ? `; did you mean ${near.map((n) => `"${n}"`).join(' or ')}?` : ''}`, {
    exitCode: ExitCode.usage,
    hint: 'See `wbc streams` for their names.',
  })
}
