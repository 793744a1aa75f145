import {pruneLedger} from '../../sql/ledger.js'
import type {Databases} from '../../sql/databases.js'
import type {Ipc} from '../../ipc/types.js'
import type {KeySpace} from '../keys.js'
import {inflightIds} from './inflight.js'
import type {FlushReport} from './types.js'

/**
 * Old ledger rows of this state go, at most hourly per connection: they only matter while their
 * batch is in flight, so the rows of batches still in flight stay whatever their age. One per
 * Flusher: the hour is counted across its flushes.
 */
export class LedgerPruning {
  private prunedAt = new Map<string, number>()

  constructor(
    private readonly ipc: Ipc,
    private readonly keys: KeySpace,
    private readonly dbs: Databases,
  ) {}

  /** The connections `report` flushed without error, those not pruned within the hour. */
  async after(report: FlushReport): Promise<void> {
    for (const connection of new Set(report.tables.filter((t) => !t.error).map((t) => t.connection))) {
      if (Date.now() - (this.prunedAt.get(connection) ?? 0) < 3_600_000) continue
      this.prunedAt.set(connection, Date.now())
      try {
        await pruneLedger(this.dbs.get(connection).knex, this.keys.prefix, await inflightIds(this.ipc, this.keys))
      } catch {
        // Pruning is housekeeping: the next hour tries again.
      }
    }
  }
}
