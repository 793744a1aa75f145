import {Flags} from '@oclif/core'

import {BaseCommand} from '../cli/base-command.js'
import {readStatus} from '../core/inspect/status.js'
import {toPrometheus} from '../core/inspect/metrics.js'
import {writeFileAtomic} from '../core/fs/safe-files.js'

export default class Metrics extends BaseCommand<typeof Metrics> {
  static summary = 'Print the status figures in Prometheus text format (for a node_exporter textfile collector or a scrape).'
  static examples = [
    {description: 'Print them', command: '<%= config.bin %> <%= command.id %>'},
    {description: 'From cron, for node_exporter (written atomically)', command: '<%= config.bin %> <%= command.id %> --out /var/lib/node_exporter/textfile/wbc.prom'},
  ]

  static enableJsonFlag = false
  static flags = {out: Flags.string({summary: 'Write to this file (atomically, via a temporary file) instead of stdout.'})}

  async run(): Promise<void> {
    const text = await this.withState(async (ipc, loaded) => toPrometheus(await readStatus(ipc, loaded.config.ipc.prefix)))
    if (this.flags.out) {
      // 0644: a textfile collector reads it as its own user; it holds figures, not values.
      writeFileAtomic(this.flags.out, text, 'the metrics file', 0o644)
    } else process.stdout.write(text)
  }
}
