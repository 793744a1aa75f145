import {Flags} from '@oclif/core'

import type {DeadLetters} from '../core/buffer/dead-letters.js'
import {WbcError} from '../core/errors.js'

export const deadLetterFlags = {
  table: Flags.string({char: 't', summary: 'Only this table.'}),
  connection: Flags.string({summary: 'Only this connection.'}),
}

export const selectionFlags = {
  id: Flags.string({multiple: true, summary: 'The dead letter(s) to act on (ids from `wbc deadletter list`).', exclusive: ['all']}),
  all: Flags.boolean({summary: 'Act on every dead letter of the selected tables.', exclusive: ['id']}),
}

/** The tables a dead-letter command works on. */
export async function selectedTables(letters: DeadLetters, flags: {table?: string; connection?: string}): Promise<Array<{connection: string; table: string}>> {
  const tables = await letters.tables()
  return tables.filter((t) => (!flags.table || t.table === flags.table) && (!flags.connection || t.connection === flags.connection))
}

export function requireSelection(flags: {id?: string[]; all?: boolean}): string[] {
  if (!flags.all && (!flags.id || flags.id.length === 0)) {
    throw new WbcError('SELECTION_REQUIRED', 'say which dead letters: --id ID (repeatable) or --all', {exitCode: 2, hint: 'See the ids with `wbc deadletter list`.'})
  }
  return flags.all ? [] : flags.id!
}
