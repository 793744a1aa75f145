import type {FlushProgress} from '../core/buffer/flusher.js'
import {formatDuration} from '../core/duration.js'
import type {LeaseRecord} from '../core/ipc/types.js'
import {holderText} from './lease-advice.js'
import {printable} from './safe-text.js'

/** How progress shows on stderr: one line rewritten in place (a terminal), single notes (piped), or nothing (--json). */
export type ProgressMode = 'line' | 'notes' | 'off'

export interface ProgressDisplay {
  update: (progress: FlushProgress) => void
  /** The lease is held by someone else and the command waits for it (`leftMs` of the wait remain). */
  waiting: (holder: LeaseRecord | null, leftMs: number) => void
  /** Clears the line (terminal) before the result is printed. */
  done: () => void
}

export function progressMode(json: boolean, stream: {isTTY?: boolean} = process.stderr): ProgressMode {
  if (json) return 'off'
  return stream.isTTY ? 'line' : 'notes'
}

/**
 * Progress of a flush or recover on stderr. On a terminal one line is rewritten in place (cut to
 * the terminal's width, so it never wraps) and cleared at the end; piped, only the start of a wait
 * for the lease is said, once — the result follows on stdout.
 */
export function progressDisplay(mode: ProgressMode, out: {write: (text: string) => unknown; columns?: number} = process.stderr): ProgressDisplay {
  let shown = false
  let saidWaiting = false
  const line = (text: string) => {
    const width = out.columns && out.columns > 1 ? out.columns - 1 : 0
    const safe = printable(text)
    out.write(`\r\u001B[2K${width && safe.length > width ? `${safe.slice(0, width - 1)}…` : safe}`)
    shown = true
  }
  return {
    update: (p) => {
      if (mode === 'line') line(describeProgress(p))
    },
    waiting: (holder, leftMs) => {
      if (mode === 'line') line(`waiting for the flush lease held by ${holderText(holder)} (${formatDuration(leftMs)} of --wait left)`)
      else if (mode === 'notes' && !saidWaiting) out.write(`${printable(`waiting up to ${formatDuration(leftMs)} for the flush lease held by ${holderText(holder)}…`)}\n`)
      saidWaiting = true
    },
    done: () => {
      if (shown) out.write('\r\u001B[2K')
      shown = false
    },
  }
}

/** One step of a flush as the progress line says it. */
export function describeProgress(p: FlushProgress): string {
  const table = `${p.connection}:${p.table}`
  const sofar = `${p.batches} batch${p.batches === 1 ? '' : 'es'}, ${p.rows} rows`
  switch (p.step) {
    case 'recover':
      return `finishing batch ${p.of?.index ?? '?'} of ${p.of?.total ?? '?'} left in flight (${table})`
    case 'claim':
      return `claiming ${table} — ${sofar} so far`
    case 'apply':
      return `writing ${table} — ${sofar} so far (in the database)`
    case 'retry':
      return `${table}: ${p.retry?.error ?? 'failed'} — retry ${p.retry?.attempt ?? '?'} of ${(p.retry?.attempts ?? 1) - 1}…`
    default:
      return `flushed ${table} — ${sofar}`
  }
}
