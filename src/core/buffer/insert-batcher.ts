import type {Json} from '../ipc/types.js'

/** Most rows in one step call: the call stays small enough to overlap with the next one. */
export const MAX_BATCH_ROWS = 1000
/**
 * Most JSON text (UTF-16 units) in one step call: at most 3 bytes each, so a call of several
 * callers stays under the smallest `ipc.maxRequestBytes` (2 MiB). One caller's rows always go
 * together, however large (as they did before batching).
 */
export const MAX_BATCH_CHARS = 512 * 1024

interface Waiting {
  rows: Json[]
  chars: number
  resolve: (length: number) => void
  reject: (error: unknown) => void
}

/**
 * Gathers the rows that concurrent `insert()` calls queue for one table during one turn of the
 * event loop and appends them in one step call, in call order. The step is atomic: either every
 * row of the call is queued or none is, and then every caller in it gets the error. Each caller
 * gets the queue length right after its own rows, as if the calls had run one after the other.
 */
export class InsertBatcher {
  private waiting = new Map<string, Waiting[]>()
  private scheduled = false

  constructor(private readonly send: (table: string, rows: Json[]) => Promise<number>) {}

  /** Queues rows (already validated and snapshotted) of `table`; resolves with the queue length after them. */
  add(table: string, rows: Json[], chars: number): Promise<number> {
    return new Promise((resolve, reject) => {
      let callers = this.waiting.get(table)
      if (!callers) {
        callers = []
        this.waiting.set(table, callers)
      }
      callers.push({rows, chars, resolve, reject})
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
    for (const [table, callers] of waiting) {
      let group: Waiting[] = []
      let rows = 0
      let chars = 0
      for (const caller of callers) {
        if (group.length > 0 && (rows + caller.rows.length > MAX_BATCH_ROWS || chars + caller.chars > MAX_BATCH_CHARS)) {
          this.sendGroup(table, group)
          group = []
          rows = 0
          chars = 0
        }
        group.push(caller)
        rows += caller.rows.length
        chars += caller.chars
      }
      this.sendGroup(table, group)
    }
  }

  private sendGroup(table: string, group: Waiting[]): void {
    const rows = group.length === 1 ? group[0].rows : group.flatMap((caller) => caller.rows)
    let sent: Promise<number>
    try {
      sent = this.send(table, rows)
    } catch (error) {
      sent = Promise.reject(error)
    }
    sent.then(
      (length) => {
        let after = rows.length
        for (const caller of group) {
          after -= caller.rows.length
          caller.resolve(length - after)
        }
      },
      (error: unknown) => {
        for (const caller of group) caller.reject(error)
      },
    )
  }
}
