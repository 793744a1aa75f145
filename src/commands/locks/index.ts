import {BaseCommand} from '../../cli/base-command.js'
import {formatDuration} from '../../core/duration.js'
import {listLocks, type LockInfo} from '../../core/inspect/locks.js'
import {renderTable} from '../../ui/table.js'

export default class Locks extends BaseCommand<typeof Locks> {
  static summary = 'List every lease under the prefix: holder, whether it is alive, age, TTL left, fence.'
  static examples = [
    {description: 'Who holds the flush lease?', command: '<%= config.bin %> <%= command.id %>'},
    {description: 'As JSON', command: '<%= config.bin %> <%= command.id %> --json'},
  ]

  async run(): Promise<{locks: LockInfo[]}> {
    return this.withState(async (ipc, loaded) => {
      const locks = await listLocks(ipc, loaded.config.ipc.prefix)
      if (!this.jsonEnabled()) {
        if (locks.length === 0) this.print('no leases held')
        else {
          const rows = locks.map((l) => [
            l.key,
            l.legacy ? '(ODAC, unknown)' : (l.owner ?? '').slice(0, 8),
            l.host ?? '-',
            l.pid ?? '-',
            l.alive === null ? 'unknown' : l.alive ? 'yes' : 'no',
            formatDuration(l.ageMs),
            formatDuration(l.ttlMs),
            l.fence ?? '-',
          ])
          this.print(renderTable(['key', 'owner', 'host', 'pid', 'alive', 'age', 'ttl left', 'fence'], rows, this.tty))
        }
      }
      return {locks}
    })
  }
}
