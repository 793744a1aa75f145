import Table from 'cli-table3'

/**
 * A table for people on a terminal (boxed), or plain columns when piped: one header line, then
 * one line per row, columns separated by two or more spaces, so `awk`/`cut` can read it.
 */
export function renderTable(head: string[], rows: Array<Array<string | number>>, tty: boolean): string {
  if (tty) {
    const table = new Table({head, style: {head: [], border: []}})
    for (const row of rows) table.push(row.map(String))
    return table.toString()
  }
  const cells = [head, ...rows.map((row) => row.map(String))]
  const widths = head.map((_, i) => Math.max(...cells.map((row) => (row[i] ?? '').length)))
  return cells.map((row) => row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i]))).join('  ')).join('\n')
}

/** `key: value` lines with the keys aligned. */
export function renderPairs(pairs: Array<[string, string | number]>): string {
  const width = Math.max(0, ...pairs.map(([key]) => key.length))
  return pairs.map(([key, value]) => `${`${key}:`.padEnd(width + 1)} ${value}`).join('\n')
}
