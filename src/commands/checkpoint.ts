import {Flags} from '@oclif/core'
import {resolve} from 'node:path'

import {BaseCommand} from '../cli/base-command.js'
import {databaseMarks} from '../core/backup-check.js'
import type {ExportMeta} from '../core/checkpoint/export-meta.js'
import {readStoreFence} from '../core/buffer/rollback.js'
import {renderPairs} from '../ui/table.js'

export default class CheckpointCommand extends BaseCommand<typeof CheckpointCommand> {
  static summary = 'Have a running memory-driver application write its checkpoint now, or export its state to a file.'
  static description = `An export records what it is (time, prefix, the store it came from, its fence, and each database's fence
and commit count at that moment) under {prefix}:export in the file: \`wbc recover --checkpoint\` refuses to apply it once a
flush has committed since, unless --force.`
  static examples = [
    {description: 'Checkpoint now (before a risky deploy)', command: '<%= config.bin %> <%= command.id %>'},
    {description: 'Export a backup that `wbc recover --checkpoint` can apply', command: '<%= config.bin %> <%= command.id %> --out /backups/wbc-2026-04-01.lmdb'},
  ]

  static flags = {out: Flags.string({summary: 'Export the whole state to a new checkpoint file here instead.'})}

  async run(): Promise<{path: string; counters: number; updates: number; queues: number; inflight: number; meta?: ExportMeta}> {
    return this.withState(async (ipc, loaded) => {
      if (!this.flags.out) {
        const result = await ipc.checkpoint()
        if (!this.jsonEnabled())
          this.print(
            renderPairs([
              ['written', result.path],
              ['holds', holds(result)],
            ]),
          )
        return result
      }
      const out = resolve(this.flags.out)
      const prefix = loaded.config.ipc.prefix
      // Read before the export: a flush that commits after this point shows as a higher seq.
      const databases = await databaseMarks(loaded.config)
      const storeFence = await readStoreFence(ipc, prefix)
      const at = Date.now()
      const result = await ipc.checkpoint(out)
      const meta: ExportMeta = {format: 1, at, prefix, store: ipc.address, storeFence, databases}
      const {writeExportMeta} = await import('../core/checkpoint/export-meta.js')
      await writeExportMeta(out, meta)
      if (!this.jsonEnabled()) {
        this.print(
          renderPairs([
            ['written', result.path],
            ['holds', holds(result)],
            ['taken', `${new Date(at).toISOString()}, store fence ${storeFence}`],
          ]),
        )
      }
      return {...result, meta}
    })
  }
}

const holds = (r: {counters: number; updates: number; queues: number; inflight: number}) => `${r.counters} counter keys, ${r.updates} update rows, ${r.queues} queues, ${r.inflight} batches in flight`
