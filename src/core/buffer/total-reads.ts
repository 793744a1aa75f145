import type {Database} from '../sql/databases.js'
import {counterTotals} from './counter-total.js'
import {EntryPositions} from './entry-positions.js'
import type {BufferSteps, CounterReading} from './steps/index.js'

/** Counters read together at most: their readings go out at once, their bases in a few statements. */
const MAX_MEMBERS = 1000

interface Waiting {
  db: Database
  /** A reading taken with an increment (any one will do: each is checked against the generation). */
  reading?: CounterReading
  callers: Array<{resolve: (total: number) => void; reject: (error: unknown) => void}>
}

/**
 * Gathers the counter totals asked for during one turn of the event loop (cold increments and
 * get()) and reads them together, per connection: one reading per counter, sent together (none for
 * a cold increment: its step returned the reading); one SELECT for every base missing from the
 * cache, with the ledger checks (counter-total.ts); one cacheBase per counter, sent together. A
 * cold increment thus costs two calls to the store: the increment step and cacheBase. A
 * counter asked for twice in the turn (one row addressed several ways encodes to one member) is
 * read once and every caller gets its total; a counter whose read fails rejects its own callers.
 */
export class TotalReads {
  private waiting = new Map<string, Map<string, Waiting>>()
  private scheduled = false
  private readonly positions: EntryPositions

  constructor(
    private readonly steps: BufferSteps,
    private readonly prefix: string,
    private readonly primaryKey: string,
    private readonly cacheTtlMs: () => number,
  ) {
    this.positions = new EntryPositions(steps, prefix, primaryKey)
  }

  /** The counter's total; `reading`, when given, saves reading the counter again (see counterTotals). */
  read(connection: string, db: Database, member: string, reading?: CounterReading): Promise<number> {
    return new Promise((resolve, reject) => {
      let members = this.waiting.get(connection)
      if (!members) {
        members = new Map()
        this.waiting.set(connection, members)
      }
      let entry = members.get(member)
      if (!entry) {
        entry = {db, callers: []}
        members.set(member, entry)
      }
      entry.reading ??= reading
      entry.callers.push({resolve, reject})
      if (!this.scheduled) {
        this.scheduled = true
        setImmediate(this.drain)
      }
    })
  }

  private readonly drain = () => {
    this.scheduled = false
    const waiting = this.waiting
    this.waiting = new Map()
    for (const members of waiting.values()) {
      const all = [...members.entries()]
      for (let start = 0; start < all.length; start += MAX_MEMBERS) void this.readGroup(all.slice(start, start + MAX_MEMBERS))
    }
  }

  private async readGroup(group: Array<[string, Waiting]>): Promise<void> {
    let results
    try {
      results = await counterTotals(
        this.steps,
        this.prefix,
        group[0][1].db,
        group.map(([member]) => member),
        this.primaryKey,
        this.cacheTtlMs(),
        this.positions,
        group.map(([, entry]) => entry.reading),
      )
    } catch (error) {
      for (const [, {callers}] of group) for (const caller of callers) caller.reject(error)
      return
    }
    group.forEach(([, {callers}], i) => {
      const result = results[i]
      for (const caller of callers) {
        if ('error' in result) caller.reject(result.error)
        else caller.resolve(result.total)
      }
    })
  }
}
