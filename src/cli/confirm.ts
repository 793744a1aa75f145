import {createInterface} from 'node:readline/promises'

import {ExitCode, WbcError} from '../core/errors.js'
import {printable} from '../ui/safe-text.js'

/**
 * Destructive actions: `--yes` goes ahead; on a terminal the operator is asked; without a terminal
 * (cron, scripts) nothing ever waits for an answer — a missing --yes is an error that says so.
 */
export async function confirm(question: string, yes: boolean): Promise<void> {
  if (yes) return
  if (!process.stdin.isTTY || !process.stderr.isTTY) {
    throw new WbcError('CONFIRMATION_REQUIRED', `${question.replace(/\?$/, '')}: refused without confirmation`, {
      exitCode: ExitCode.usage,
      hint: 'Add --yes to confirm from a script.',
    })
  }
  const rl = createInterface({input: process.stdin, output: process.stderr})
  try {
    const answer = await rl.question(`${printable(question)} [y/N] `)
    if (!/^y(es)?$/i.test(answer.trim())) throw new WbcError('CANCELLED', 'cancelled; nothing was changed', {exitCode: ExitCode.ok})
  } finally {
    rl.close()
  }
}
