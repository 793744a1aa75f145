import type {FlushProgress} from '../core/buffer/flusher.js'
import {printable} from './safe-text.js'

/** A one-line progress display on a terminal's stderr; nothing when piped or with --json. */
export function progressLine(enabled: boolean): {update: (p: FlushProgress) => void; done: () => void} {
  if (!enabled) return {update: () => {}, done: () => {}}
  let shown = false
  return {
    update: (p) => {
      shown = true
      process.stderr.write(`\r\u001B[2Kflushing ${printable(p.connection)}:${printable(p.table)} — ${p.batches} batch${p.batches === 1 ? '' : 'es'}, ${p.rows} rows`)
    },
    done: () => {
      if (shown) process.stderr.write('\r\u001B[2K')
    },
  }
}
