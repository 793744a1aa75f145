import {spawn, type ChildProcess} from 'node:child_process'
import {join} from 'node:path'

const fixtures = join(import.meta.dirname, '..', 'fixtures')

export interface Exit {
  code: number | null
  signal: NodeJS.Signals | null
  stdout: string
  stderr: string
}

/** Starts a TypeScript fixture in its own Node process. */
export function startFixture(name: string, env: Record<string, string>): {child: ChildProcess; exit: Promise<Exit>} {
  const child = spawn(process.execPath, ['--import', 'tsx', join(fixtures, name)], {env: {...process.env, ...env}, stdio: ['ignore', 'pipe', 'pipe']})
  let stdout = ''
  let stderr = ''
  child.stdout!.on('data', (chunk) => (stdout += chunk))
  child.stderr!.on('data', (chunk) => (stderr += chunk))
  const exit = new Promise<Exit>((resolve) => child.on('exit', (code, signal) => resolve({code, signal, stdout, stderr})))
  return {child, exit}
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

export async function until(check: () => Promise<boolean> | boolean, timeoutMs = 15_000, what = 'condition'): Promise<void> {
  const start = Date.now()
  while (!(await check())) {
    if (Date.now() - start > timeoutMs) throw new Error(`timed out waiting for ${what}`)
    await sleep(25)
  }
}
