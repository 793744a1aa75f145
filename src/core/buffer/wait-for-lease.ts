import type {LeaseRecord} from '../ipc/types.js'
import {type FlushFilter, type FlushReport, sleep} from './flusher.js'
import {abortReason, FlushInterrupted} from './interrupted.js'

export interface LeaseWaitOptions {
  /** How long to wait for another holder's flush to finish; 0: try once. */
  waitMs: number
  /** Called each time the lease was found held, with how much of the wait is left. */
  onWait?: (holder: LeaseRecord | null, leftMs: number) => void
  /** Between attempts. */
  pollMs?: number
}

/**
 * Flushes; while another live process holds the lease, tries again until `waitMs` has passed
 * (a holder found dead on this host is taken over by the flush itself). The filter's signal ends
 * the wait at once (FlushInterrupted, nothing claimed). The last report says `skipped` when the
 * lease stayed held.
 */
export async function flushWhenLeaseFree(flush: (filter: FlushFilter) => Promise<FlushReport>, filter: FlushFilter, options: LeaseWaitOptions): Promise<FlushReport> {
  const deadline = Date.now() + Math.max(0, options.waitMs)
  let report = await flush(filter)
  while (report.status === 'skipped' && Date.now() < deadline) {
    options.onWait?.(report.holder ?? null, deadline - Date.now())
    await sleep(Math.min(options.pollMs ?? 250, Math.max(10, deadline - Date.now())), filter.signal)
    if (filter.signal?.aborted) throw new FlushInterrupted(abortReason(filter.signal), null, [])
    report = await flush(filter)
  }
  return report
}
