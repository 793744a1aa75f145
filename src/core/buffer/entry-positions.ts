import {entriesOf} from './entries.js'
import type {BufferSteps} from './steps/index.js'

/** Batches whose index is kept: more than are ever in flight at once for one process's reads. */
const KEPT = 32

/**
 * Where a counter's entry sits in an in-flight batch (the ledger records entry index ranges).
 * A batch does not change while in flight and its id is never reused, so each is read and
 * indexed once (member → entry index) instead of decoded again for every cold counter.
 */
export class EntryPositions {
  private readonly batches = new Map<string, Promise<Map<string, number> | null>>()

  constructor(
    private readonly steps: BufferSteps,
    private readonly prefix: string,
    private readonly primaryKey: string,
  ) {}

  /** The member's entry index in the batch; -1 when the batch is gone or does not hold it. */
  async of(batchId: string, member: string): Promise<number> {
    let index = this.batches.get(batchId)
    if (!index) {
      index = this.read(batchId)
      this.batches.set(batchId, index)
      if (this.batches.size > KEPT) this.batches.delete(this.batches.keys().next().value!)
      // A batch that is gone (acknowledged) or unreadable is asked for again next time.
      index.then(
        (found) => found === null && this.batches.get(batchId) === index && this.batches.delete(batchId),
        () => this.batches.get(batchId) === index && this.batches.delete(batchId),
      )
    }
    return (await index)?.get(member) ?? -1
  }

  private async read(batchId: string): Promise<Map<string, number> | null> {
    const batch = await this.steps.readBatch(this.prefix, batchId)
    if (batch === null) return null
    const index = new Map<string, number>()
    entriesOf(batch, this.primaryKey).forEach((entry, i) => {
      if (entry.kind !== 'counter') return
      for (const member of entry.members) if (!index.has(member)) index.set(member, i)
    })
    return index
  }
}
