/** One increment waiting for its turn in a batched script call. */
export interface QueuedIncrement {
  prefix: string
  table: string
  delta: number
  member: string
  resolve: (value: {live: number; base: number | null; inflight: number}) => void
  reject: (error: unknown) => void
}

/** Most increments in one script call: smaller calls overlap (Redis runs one while the next is built); 16 measured best. */
const MAX_BATCH = 16

/**
 * Gathers the increments issued during one turn of the event loop and sends them as one script
 * call (Redis runs it as one step; each increment in it is still applied and answered on its
 * own). With many concurrent callers this turns N round trips and N script runs into one.
 */
export class IncrementBatcher {
  private queue: QueuedIncrement[] = []

  constructor(private readonly send: (batch: QueuedIncrement[]) => Promise<void>) {}

  add(item: Omit<QueuedIncrement, 'resolve' | 'reject'>): Promise<{live: number; base: number | null; inflight: number}> {
    return new Promise((resolve, reject) => {
      this.queue.push({prefix: item.prefix, table: item.table, delta: item.delta, member: item.member, resolve, reject})
      if (this.queue.length === 1) setImmediate(this.drain)
    })
  }

  private readonly drain = () => {
    const queue = this.queue
    this.queue = []
    for (let i = 0; i < queue.length; i += MAX_BATCH) {
      const batch = queue.slice(i, i + MAX_BATCH)
      this.send(batch).catch((error: unknown) => {
        for (const item of batch) item.reject(error)
      })
    }
  }
}
