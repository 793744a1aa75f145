import {Flags} from '@oclif/core'

import type {DeadLetters} from '../core/buffer/dead-letters.js'
import {targetMatcher, type TargetFilter} from '../core/buffer/target-filter.js'
import {ExitCode, WbcError} from '../core/errors.js'
import {targetFlags} from './target-flags.js'

export const deadLetterFlags = targetFlags

export const selectionFlags = {
  id: Flags.string({multiple: true, summary: 'The dead letter(s) to act on (ids from `wbc deadletter list`).', exclusive: ['all']}),
  all: Flags.boolean({summary: 'Act on every dead letter of the selected tables.', exclusive: ['id']}),
}

/** The tables a dead-letter command works on (the filter's names checked with resolveTargetFlags). */
export async function selectedTables(letters: DeadLetters, filter: TargetFilter): Promise<Array<{connection: string; table: string}>> {
  const matches = targetMatcher(filter)
  return (await letters.tables()).filter((t) => matches(t.connection, t.table))
}

export function requireSelection(flags: {id?: string[]; all?: boolean}): string[] {
  if (!flags.all && (!flags.id || flags.id.length === 0)) {
    throw new WbcError('SELECTION_REQUIRED', 'say which dead letters: --id ID (repeatable) or --all', {exitCode: ExitCode.usage, hint: 'See the ids with `wbc deadletter list`.'})
  }
  return flags.all ? [] : flags.id!
}

/**
 * Every id given must name a dead letter of the selected tables: an id that does not (a typo, one
 * dropped or retried already) is exit 2 naming it, and nothing is changed.
 */
export async function requireExistingIds(letters: DeadLetters, tables: Array<{connection: string; table: string}>, ids: string[]): Promise<void> {
  if (ids.length === 0) return
  const present = new Set<string>()
  for (const t of tables) for (const letter of await letters.list(t.connection, t.table)) present.add(letter.id)
  const missing = [...new Set(ids)].filter((id) => !present.has(id))
  if (missing.length === 0) return
  const where = tables.length === 0 ? 'no selected table has dead letters' : `not among the dead letters of ${tables.map((t) => `${t.connection}:${t.table}`).join(', ')}`
  throw new WbcError('NO_SUCH_DEAD_LETTER', `no dead letter ${missing.map((id) => `"${id}"`).join(', ')} (${where}); nothing was changed`, {
    exitCode: ExitCode.usage,
    hint: 'See the ids with `wbc deadletter list`.',
  })
}
