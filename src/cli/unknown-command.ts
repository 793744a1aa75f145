import {ExitCode} from '../core/errors.js'
import {printable, printableJson} from '../ui/safe-text.js'
import {colorWanted, createStyle} from '../ui/style.js'

/**
 * What to say about a command line whose words name no command: either a command followed by
 * words it does not take (`wbc status extra`), or a misspelled command (`wbc stauts`), with the
 * closest command when one is near enough to be what was meant.
 */
export interface UnknownCommandReport {
  message: string
  hint: string
  /** The command most likely meant, in the words typed (`deadletter list`), if one is close. */
  suggestion?: string
}

/** `id` and `commandIds` in oclif's form (`deadletter:list`); `bin` is the CLI's name. */
export function describeUnknownCommand(id: string, commandIds: readonly string[], topics: readonly string[], bin: string): UnknownCommandReport {
  const words = id.split(':')
  const known = new Set(commandIds)
  for (let end = words.length - 1; end > 0; end--) {
    const command = words.slice(0, end).join(':')
    if (!known.has(command)) continue
    const extra = words.slice(end)
    const shown = command.replaceAll(':', ' ')
    return {
      message: `Unexpected argument${extra.length > 1 ? 's' : ''} for ${bin} ${shown}: ${extra.join(' ')}`,
      hint: `See \`${bin} help ${shown}\` for what it takes.`,
    }
  }
  const typed = words.join(' ')
  // `wbc --nosuch`: a flag where a command should be (wbc itself takes only --help and --version).
  if (typed.startsWith('-')) return {message: `Nonexistent flag: ${typed}`, hint: `Run \`${bin} help\` for the list of commands; flags go after the command.`}
  const suggestion = closest(id, commandIds)
  const topic = topics.includes(words[0]) ? ` ${words[0]}` : ''
  return {
    message: `${typed} is not a ${bin} command.${suggestion ? ` Did you mean ${bin} ${suggestion.replaceAll(':', ' ')}?` : ''}`,
    hint: `Run \`${bin} help${topic}\` for the list of commands.`,
    suggestion: suggestion?.replaceAll(':', ' '),
  }
}

/** The nearest id by edit distance, if it is near enough to be a typo (about one edit in three letters). */
function closest(id: string, ids: readonly string[]): string | undefined {
  let best: {id: string; distance: number} | undefined
  for (const candidate of ids) {
    const distance = editDistance(id, candidate)
    if (!best || distance < best.distance) best = {id: candidate, distance}
  }
  return best && best.distance <= Math.max(2, Math.floor(id.length / 3)) ? best.id : undefined
}

/** Levenshtein distance with adjacent transpositions counted as one edit (`stauts` → `status`). */
function editDistance(a: string, b: string): number {
  const rows = Array.from({length: a.length + 1}, (_, i) => Array.from({length: b.length + 1}, (_, j) => (i === 0 ? j : j === 0 ? i : 0)))
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1
      rows[i][j] = Math.min(rows[i - 1][j] + 1, rows[i][j - 1] + 1, rows[i - 1][j - 1] + cost)
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) rows[i][j] = Math.min(rows[i][j], rows[i - 2][j - 2] + 1)
    }
  }
  return rows[a.length][b.length]
}

/** Writes the report as every wbc error is written: `Error:`/`Hint:` on stderr, or one JSON document under --json. */
export function writeUsageError(report: UnknownCommandReport, argv: readonly string[]): void {
  const error = {code: 'USAGE', message: report.message, hint: report.hint, exitCode: ExitCode.usage}
  if (argv.includes('--json')) {
    process.stdout.write(`${printableJson(JSON.stringify({error}, null, 2))}\n`)
    return
  }
  const flag = argv.includes('--no-color') ? false : argv.includes('--color') ? true : undefined
  const style = createStyle(colorWanted(flag, process.stderr))
  process.stderr.write(`${style.red('Error:')} ${printable(error.message)}\n${style.dim('Hint:')} ${printable(error.hint)}\n`)
}
