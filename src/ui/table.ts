import type CliTable from 'cli-table3'
import {createRequire} from 'node:module'

import {cellText, printable, type Cell} from './safe-text.js'

// Both load on the first table drawn, not at start-up: `wbc status --json` never draws one.
const require = createRequire(import.meta.url)
let tableClass: typeof CliTable | undefined
let widthOf: ((text: string) => number) | undefined
const stringWidth = (text: string): number => (widthOf ??= require('string-width') as (text: string) => number)(text)

export interface TableOptions {
  /** Columns the boxed table may use; default: the terminal's width (terminalWidth). */
  width?: number
  /** Column indexes to drop first when even cut columns cannot fit; default: from the right, never the first. */
  dropOrder?: number[]
}

/** The terminal's width for a boxed table: stdout's columns, else $COLUMNS, else 80. */
export function terminalWidth(stream: NodeJS.WriteStream = process.stdout, env: NodeJS.ProcessEnv = process.env): number {
  const fromEnv = Number(env.COLUMNS)
  return stream.columns || (Number.isInteger(fromEnv) && fromEnv > 0 ? fromEnv : 80)
}

/**
 * A boxed table for people on a terminal, or plain columns when piped: one header line, then
 * one line per row, columns separated by two or more spaces, so `awk`/`cut` can read it (never
 * cut: scripts get every character). Cells are escaped (safe-text.ts): a value can neither add a
 * line nor drive the terminal. The boxed table fits the terminal, giving up in this order:
 * headers wrap at spaces; values longer than 24, then 12 columns are cut (`…`); cells lose their
 * right padding; headers are cut to their values' width; values are cut down to 5 columns; then
 * columns are dropped, from the right or in `dropOrder` (named under the table), so no line wraps.
 */
export function renderTable(head: string[], rows: Cell[][], tty: boolean, options: TableOptions = {}): string {
  const shownHead = head.map((cell) => printable(cell))
  const shownRows = rows.map((row) => row.map(cellText))
  if (tty) return boxed(shownHead, shownRows, options.width ?? terminalWidth(), options.dropOrder)
  const cells = [shownHead, ...shownRows]
  const widths = head.map((_, i) => Math.max(...cells.map((row) => stringWidth(row[i] ?? ''))))
  return cells.map((row) => row.map((cell, i) => (i === row.length - 1 ? cell : cell + ' '.repeat(widths[i] - stringWidth(cell)))).join('  ')).join('\n')
}

function boxed(head: string[], rows: string[][], width: number, dropOrder?: number[]): string {
  const order = dropOrder ?? head.map((_, i) => head.length - 1 - i).filter((i) => i > 0)
  let shown = head.map((_, i) => i)
  // Give up as little as needed: headers wrap and long values are cut first; then cells lose their
  // right padding; then headers and values are cut further; then columns go.
  const attempts: Array<{padding: number; level: number}> = [
    {padding: 2, level: 3},
    {padding: 1, level: 3},
    {padding: 1, level: 5},
  ]
  let layout: {widths: number[]; padding: number} | undefined
  for (const attempt of attempts) {
    const widths = fit(head, rows, shown, width, attempt.padding, attempt.level)
    if (widths) {
      layout = {widths, padding: attempt.padding}
      break
    }
  }
  for (const drop of order) {
    if (layout || shown.length === 1) break
    shown = shown.filter((i) => i !== drop)
    const widths = fit(head, rows, shown, width, 1, 5)
    if (widths) layout = {widths, padding: 1}
  }
  // Not even the last column fits: show it at its narrowest (the terminal wraps what it must).
  layout ??= {
    widths: shown.map((i) =>
      floors(
        head[i],
        rows.map((row) => row[i] ?? ''),
        1,
      ).at(-1)!,
    ),
    padding: 1,
  }
  const table = new (tableClass ??= require('cli-table3') as typeof CliTable)({
    // cli-table3 takes cell objects in the head too (its types say strings): headers wrap, values are cut.
    head: shown.map((i) => ({content: head[i], wordWrap: true, wrapOnWordBoundary: true})) as unknown as string[],
    colWidths: layout.widths,
    style: {head: [], border: [], 'padding-left': 1, 'padding-right': layout.padding - 1},
  })
  for (const row of rows) table.push(shown.map((i) => row[i] ?? ''))
  const dropped = head.filter((_, i) => !shown.includes(i))
  if (dropped.length === 0) return table.toString()
  return [table.toString(), ...wrapWords(`(too narrow to show: ${dropped.join(', ')}; --json has everything)`, width)].join('\n')
}

/** Lines of at most `width` columns, broken at spaces (a longer word stays whole). */
function wrapWords(text: string, width: number): string[] {
  const lines: string[] = []
  for (const word of text.split(' ')) {
    const last = lines.at(-1)
    if (last !== undefined && stringWidth(last) + 1 + stringWidth(word) <= width) lines[lines.length - 1] = `${last} ${word}`
    else lines.push(word)
  }
  return lines
}

/**
 * Column widths (padding included) that fit `width`, or undefined if they cannot: level by level
 * up to `maxLevel` (see floors), the widest column gives up one column at a time until it fits.
 */
function fit(head: string[], rows: string[][], shown: number[], width: number, padding: number, maxLevel: number): number[] | undefined {
  const columns = shown.map((i) =>
    floors(
      head[i],
      rows.map((row) => row[i] ?? ''),
      padding,
    ),
  )
  const widths = columns.map((levels) => levels[0])
  const available = width - (shown.length + 1)
  let excess = widths.reduce((sum, w) => sum + w, 0) - available
  for (let level = 1; level <= maxLevel && excess > 0; level++) {
    while (excess > 0) {
      let widest = -1
      for (let k = 0; k < widths.length; k++) if (widths[k] > columns[k][level] && (widest < 0 || widths[k] > widths[widest])) widest = k
      if (widest < 0) break
      widths[widest]--
      excess--
    }
  }
  return excess > 0 ? undefined : widths
}

/**
 * A column's width at each level of giving up (padding included): 0 natural, 1 header wrapped at
 * spaces, 2 values cut to 24, 3 to 12, 4 header cut to 4 (or its values' width), 5 values cut to 5.
 */
function floors(header: string, values: string[], padding: number): number[] {
  const headerWidth = stringWidth(header)
  const headerWord = Math.max(...header.split(' ').map((word) => stringWidth(word)))
  const value = Math.max(0, ...values.map((v) => stringWidth(v)))
  const levels = [
    Math.max(headerWidth, value),
    Math.max(headerWord, value),
    Math.max(headerWord, Math.min(value, 24)),
    Math.max(headerWord, Math.min(value, 12)),
    Math.max(Math.min(headerWord, 4), Math.min(value, 12)),
    Math.max(Math.min(headerWord, 4), Math.min(value, 5)),
  ]
  for (let k = 1; k < levels.length; k++) levels[k] = Math.min(levels[k], levels[k - 1])
  return levels.map((w) => w + padding)
}

/** `key: value` lines with the keys aligned; keys and values escaped like table cells. */
export function renderPairs(pairs: Array<[string, Cell]>): string {
  const shown = pairs.map(([key, value]) => [printable(key), cellText(value)] as const)
  const width = Math.max(0, ...shown.map(([key]) => key.length))
  return shown.map(([key, value]) => `${`${key}:`.padEnd(width + 1)} ${value}`).join('\n')
}
