import Table from 'cli-table3'

import {cellText, printable, type Cell} from './safe-text.js'

/**
 * A table for people on a terminal (boxed), or plain columns when piped: one header line, then
 * one line per row, columns separated by two or more spaces, so `awk`/`cut` can read it. Cells are
 * escaped (safe-text.ts): a value can neither add a line nor drive the terminal.
 */
export function renderTable(head: string[], rows: Cell[][], tty: boolean): string {
  const shownHead = head.map((cell) => printable(cell))
  const shownRows = rows.map((row) => row.map(cellText))
  if (tty) {
    const table = new Table({head: shownHead, style: {head: [], border: []}})
    for (const row of shownRows) table.push(row)
    return table.toString()
  }
  const cells = [shownHead, ...shownRows]
  const widths = head.map((_, i) => Math.max(...cells.map((row) => (row[i] ?? '').length)))
  return cells.map((row) => row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i]))).join('  ')).join('\n')
}

/** `key: value` lines with the keys aligned; keys and values escaped like table cells. */
export function renderPairs(pairs: Array<[string, Cell]>): string {
  const shown = pairs.map(([key, value]) => [printable(key), cellText(value)] as const)
  const width = Math.max(0, ...shown.map(([key]) => key.length))
  return shown.map(([key, value]) => `${`${key}:`.padEnd(width + 1)} ${value}`).join('\n')
}
