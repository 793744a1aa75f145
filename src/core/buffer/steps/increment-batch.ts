import type {IncrementResult} from './contract.js'

/** One increment waiting for its turn in a batched script call. */
export interface QueuedIncrement {
  prefix: string
  table: string
  delta: number
  member: string
  resolve: (value: IncrementResult) => void
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

  add(item: Omit<QueuedIncrement, 'resolve' | 'reject'>): Promise<IncrementResult> {
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

/**
 * One increment's answer from the script: when no base is cached, the script also sent the
 * counter's reading ({generation, batch id, delta, …}); its live delta is the one just written.
 */
export function incrementAnswer(live: number, base: number | null, inflight: number, reading: string[] | null): IncrementResult {
  if (base !== null || !Array.isArray(reading)) return {live, base, inflight}
  const byBatch: Record<string, number> = {}
  for (let i = 1; i < reading.length; i += 2) byBatch[reading[i]] = Number(reading[i + 1])
  return {live, base, inflight, reading: {live, base: null, inflight: byBatch, generation: String(reading[0])}}
}
