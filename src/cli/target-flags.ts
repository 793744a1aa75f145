import {Flags} from '@oclif/core'

import type {TargetFilter} from '../core/buffer/target-filter.js'
import type {LoadedConfig} from '../core/config/load.js'
import {resolveTargets} from '../core/inspect/resolve-targets.js'
import type {Ipc} from '../core/ipc/types.js'
import type {Databases} from '../core/sql/databases.js'

/**
 * `--table` and `--connection`, alike on every command that selects tables: repeatable or a comma
 * list, each name checked (not an identifier: exit 2; unknown: exit 2 with the closest names).
 */
export const targetFlags = {
  table: Flags.string({char: 't', multiple: true, delimiter: ',', summary: 'Only these tables (repeat the flag, or a comma list: posts,users).'}),
  connection: Flags.string({multiple: true, delimiter: ',', summary: 'Only these connections (repeat the flag, or a comma list).'}),
}

/** The filter the flags ask for, once every name in it is known (see resolveTargets). */
export function resolveTargetFlags(ipc: Ipc, loaded: LoadedConfig, flags: {table?: string[]; connection?: string[]}, dbs?: Databases): Promise<TargetFilter> {
  return resolveTargets(ipc, loaded.config, {tables: flags.table, connections: flags.connection}, {dbs})
}
