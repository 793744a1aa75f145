import type {DeadLetter} from '../../../core/buffer/dead-letters.js'
import {ListView} from './ListView.js'

/** One dead letter in full; what does not fit the height ends in how to see the rest. */
export function LetterView({letter, columns, height}: {letter: DeadLetter; columns: number; height: number}) {
  return (
    <ListView
      title={`dead letter ${letter.id} of ${letter.connection}:${letter.table} (R retry, x drop, Esc back)`}
      lines={clip(describeLetter(letter, columns), height - 1, `… the rest: wbc deadletter show ${letter.id}`)}
      columns={columns}
    />
  )
}

const clip = (lines: string[], max: number, more: string) => (lines.length <= max ? lines : [...lines.slice(0, Math.max(0, max - 1)), more])

/** A dead letter in full, cut into lines of the screen's width (nothing is lost to a cut). */
function describeLetter(letter: DeadLetter, columns: number): string[] {
  const width = Math.max(20, columns - 4)
  const wrap = (label: string, text: string) => {
    const shown = `${label}: ${text}`
    const lines: string[] = []
    for (let i = 0; i < shown.length; i += width) lines.push(`${i === 0 ? '' : '  '}${shown.slice(i, i + width)}`)
    return lines
  }
  return [
    ...wrap('code', letter.reason.code ?? 'unknown'),
    ...wrap('constraint', letter.reason.constraint ?? '-'),
    ...wrap('reason', letter.reason.message),
    ...(letter.reason.detail ? wrap('detail', letter.reason.detail) : []),
    ...wrap('kind', `${letter.kind}, at ${new Date(letter.at).toISOString()}, attempts ${letter.attempts ?? 'not recorded'}`),
    ...wrap('entry', JSON.stringify(letter.entry)),
    ...wrap('statement', letter.statement ?? '(not recorded)'),
  ]
}
