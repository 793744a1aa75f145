import {execFile, execFileSync} from 'node:child_process'
import {join} from 'node:path'

const bin = join(import.meta.dirname, '..', '..', 'bin', 'run.js')

/** Whether `script` (util-linux) can give a command a pseudo-terminal here. */
export const terminalAvailable = (() => {
  try {
    execFileSync('script', ['-qec', 'true', '/dev/null'], {stdio: 'ignore'})
    return true
  } catch {
    if (process.env.CI === 'true') throw new Error('`script` (util-linux) is needed for the terminal-width tests (CI=true)')
    console.warn('\n!!!! SKIPPING TERMINAL-WIDTH TESTS: `script` is not available !!!!\n')
    return false
  }
})()

const quote = (word: string) => `'${word.replaceAll("'", `'\\''`)}'`

/**
 * Runs the built `wbc` on a pseudo-terminal of `columns` × `rows` (stdin, stdout and stderr all
 * on it), as a person would; returns what the terminal received, lines split, carriage returns gone.
 */
export function runInTerminal(args: string[], options: {cwd: string; columns: number; rows?: number; env?: Record<string, string>}): Promise<{code: number; lines: string[]}> {
  const command = `stty cols ${options.columns} rows ${options.rows ?? 24}; ${quote(process.execPath)} ${[bin, ...args].map(quote).join(' ')}`
  const env: Record<string, string | undefined> = {...process.env, NO_COLOR: '1', ...options.env}
  for (const name of ['WBC_CONFIG', 'WBC_REDIS_URL', 'DATABASE_URL', 'COLUMNS', 'LINES']) if (!options.env || !(name in options.env)) delete env[name]
  return new Promise((resolve) => {
    execFile('script', ['-qec', command, '/dev/null'], {cwd: options.cwd, env, timeout: 30_000}, (error, stdout) => {
      const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0
      resolve({
        code,
        lines: stdout
          .replaceAll('\r', '')
          .split('\n')
          .filter((line, i, all) => i < all.length - 1 || line !== ''),
      })
    })
  })
}
