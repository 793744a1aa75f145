import {Flags} from '@oclif/core'
import {resolve} from 'node:path'

import {BaseCommand} from '../cli/base-command.js'
import {renderPairs} from '../ui/table.js'

export default class CheckpointCommand extends BaseCommand<typeof CheckpointCommand> {
  static summary = 'Have a running memory-driver application write its checkpoint now, or export its state to a file.'
  static examples = [
    {description: 'Checkpoint now (before a risky deploy)', command: '<%= config.bin %> <%= command.id %>'},
    {description: 'Export a backup that `wbc recover --checkpoint` can apply', command: '<%= config.bin %> <%= command.id %> --out /backups/wbc-2026-04-01.lmdb'},
  ]

  static flags = {out: Flags.string({summary: 'Export the whole state to a new checkpoint file here instead.'})}

  async run(): Promise<{path: string; counters: number; updates: number; queues: number; inflight: number}> {
    return this.withState(async (ipc, loaded) => {
      const result = await ipc.checkpoint(this.flags.out ? resolve(this.flags.out) : undefined)
      if (!this.jsonEnabled()) {
        this.print(renderPairs([['written', result.path], ['holds', `${result.counters} counter keys, ${result.updates} update rows, ${result.queues} queues, ${result.inflight} batches in flight`]]))
      }
      return result
    })
  }
}
