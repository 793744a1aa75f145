import type {IncrementResult} from './contract.js'

/** One increment waiting for its turn in a batched step call. */
export interface QueuedIncrement {
  member: string
  delta: number
  resolve: (value: IncrementResult) => void
  reject: (error: unknown) => void
}

/** How a driver batches: the most increments in one call, and when a batch is sent. */
export interface BatchingPolicy {
  maxBatch: number
  /** Runs the send of what was gathered: on a later turn (setImmediate) or once the microtasks run (queueMicrotask). */
  schedule: (drain: () => void) => void
}

/**
 * Gathers the increments issued together and sends them as one step call per prefix (the step
 * runs as one; each increment in it is still applied and answered on its own). With many
 * concurrent callers this turns N round trips and N step runs into one. `send` settles each
 * increment of its batch; an error it throws fails the whole batch.
 */
export class IncrementBatcher {
  private queued = new Map<string, QueuedIncrement[]>()

  constructor(
    private readonly send: (prefix: string, batch: QueuedIncrement[]) => Promise<void>,
    private readonly policy: BatchingPolicy,
  ) {}

  add(prefix: string, member: string, delta: number): Promise<IncrementResult> {
    return new Promise((resolve, reject) => {
      if (this.queued.size === 0) this.policy.schedule(this.drain)
      let items = this.queued.get(prefix)
      if (!items) this.queued.set(prefix, (items = []))
      items.push({member, delta, resolve, reject})
    })
  }

  private readonly drain = () => {
    const queued = this.queued
    this.queued = new Map()
    for (const [prefix, items] of queued) {
      for (let i = 0; i < items.length; i += this.policy.maxBatch) {
        const batch = items.slice(i, i + this.policy.maxBatch)
        this.send(prefix, batch).catch((error: unknown) => {
          for (const item of batch) item.reject(error)
        })
      }
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
