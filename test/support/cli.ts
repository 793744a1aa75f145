import {execFile, spawn, type ChildProcess} from 'node:child_process'
import {join} from 'node:path'

const bin = join(import.meta.dirname, '..', '..', 'bin', 'run.js')

export interface CliResult {
  code: number
  stdout: string
  stderr: string
}

/** Runs the built `wbc` (bin/run.js) as an operator would, without a terminal. */
export function runCli(args: string[], options: {cwd?: string; env?: Record<string, string | undefined>; timeoutMs?: number} = {}): Promise<CliResult> {
  const env: Record<string, string | undefined> = {...process.env, NO_COLOR: '1', ...options.env}
  for (const name of ['WBC_CONFIG', 'WBC_REDIS_URL', 'DATABASE_URL']) if (!options.env || !(name in options.env)) delete env[name]
  return new Promise((resolve) => {
    execFile(process.execPath, [bin, ...args], {cwd: options.cwd, env, timeout: options.timeoutMs ?? 30_000}, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0
      resolve({code, stdout, stderr})
    })
  })
}

/** Starts the built `wbc` without waiting for it, to signal it mid-way (SIGINT, SIGTERM, SIGKILL). */
export function startCli(args: string[], options: {cwd?: string; env?: Record<string, string | undefined>} = {}): {child: ChildProcess; exit: Promise<CliResult & {signal: NodeJS.Signals | null}>} {
  const env: Record<string, string | undefined> = {...process.env, NO_COLOR: '1', ...options.env}
  for (const name of ['WBC_CONFIG', 'WBC_REDIS_URL', 'DATABASE_URL']) if (!options.env || !(name in options.env)) delete env[name]
  const child = spawn(process.execPath, [bin, ...args], {cwd: options.cwd, env, stdio: ['ignore', 'pipe', 'pipe']})
  let stdout = ''
  let stderr = ''
  child.stdout!.on('data', (chunk) => (stdout += chunk))
  child.stderr!.on('data', (chunk) => (stderr += chunk))
  const exit = new Promise<CliResult & {signal: NodeJS.Signals | null}>((resolve) => child.on('close', (code, signal) => resolve({code: code ?? -1, signal, stdout, stderr})))
  return {child, exit}
}
