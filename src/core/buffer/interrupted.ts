import {ExitCode, WbcError} from '../errors.js'
import type {FlushReport} from './flush/types.js'

/** Batches left in flight under one table when a flush stopped. */
export interface LeftInFlight {
  connection: string
  table: string
  batches: number
}

/**
 * A flush stopped by its caller's AbortSignal. The transaction that was open was rolled back and
 * the lease released; batches claimed but not committed stay in flight, and the next flush (or
 * `wbc recover`) finishes them exactly once. The abort reason `'SIGTERM'` exits 143, any other 130.
 */
export class FlushInterrupted extends WbcError {
  constructor(
    readonly reason: string,
    /** What the flush did before it stopped; null when it stopped before taking the lease. */
    readonly report: FlushReport | null,
    readonly leftInFlight: LeftInFlight[],
  ) {
    const batches = leftInFlight.reduce((n, t) => n + t.batches, 0)
    const applied = report ? report.tables.reduce((n, t) => n + t.counters + t.updates + t.inserts, 0) : 0
    const where = leftInFlight.map((t) => `${t.connection}:${t.table} (${t.batches})`).join(', ')
    const what = !report
      ? 'it stopped before taking the flush lease; nothing was claimed or written'
      : `${applied > 0 ? `after applying ${applied} rows; ` : ''}nothing uncommitted was kept (an open transaction is rolled back) and the flush lease was released; ${
          batches === 0 ? 'no batch was left in flight' : `${batches} batch${batches === 1 ? ' was' : 'es were'} left in flight: ${where}`
        }`
    super('INTERRUPTED', `flush interrupted${reason ? ` by ${reason}` : ''}: ${what}`, {
      exitCode: reason === 'SIGTERM' ? ExitCode.terminated : ExitCode.interrupted,
      hint:
        batches > 0
          ? 'The next flush, or `wbc recover`, finishes the batches left in flight (each applied exactly once); the writes not yet claimed stay pending.'
          : 'The writes not yet flushed stay pending: the next flush writes them.',
    })
  }

  toJSON() {
    return {...super.toJSON(), leftInFlight: this.leftInFlight}
  }
}

/** The text of an AbortSignal's reason: a signal name the commands pass, or an error's message. */
export function abortReason(signal: AbortSignal): string {
  const reason: unknown = signal.reason
  if (typeof reason === 'string') return reason
  if (reason instanceof Error && reason.name !== 'AbortError') return reason.message
  return ''
}
