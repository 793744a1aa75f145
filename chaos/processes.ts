/** Child processes of a chaos run: fixtures under tsx and the built `wbc` CLI. */
import {spawn, type ChildProcess} from 'node:child_process'
import {readFileSync} from 'node:fs'
import {join} from 'node:path'

const root = join(import.meta.dirname, '..')

export interface Exit {
  code: number | null
  signal: NodeJS.Signals | null
  stdout: string
  stderr: string
}

export interface Child {
  process: ChildProcess
  exit: Promise<Exit>
  /** Resolves with the first stdout line that satisfies the test. */
  line(test: (line: string) => boolean, timeoutMs: number): Promise<string>
}

function track(child: ChildProcess): Child {
  let stdout = ''
  let stderr = ''
  const waiting = new Set<() => void>()
  child.stdout!.on('data', (chunk) => {
    stdout += chunk
    for (const check of waiting) check()
  })
  child.stderr!.on('data', (chunk) => (stderr += chunk))
  const exit = new Promise<Exit>((resolve) => child.once('exit', (code, signal) => resolve({code, signal, stdout, stderr})))
  return {
    process: child,
    exit,
    line: (test, timeoutMs) =>
      new Promise((resolve, reject) => {
        const check = () => {
          const found = stdout.split('\n').find(test)
          if (found === undefined) return
          waiting.delete(check)
          clearTimeout(timer)
          resolve(found)
        }
        const timer = setTimeout(() => {
          waiting.delete(check)
          reject(new Error(`no matching output within ${timeoutMs} ms; stderr: ${stderr.slice(-2000)}`))
        }, timeoutMs)
        waiting.add(check)
        check()
        void exit.then(() => setTimeout(check, 0))
      }),
  }
}

export function startScript(file: string, env: Record<string, string>): Child {
  return track(spawn(process.execPath, ['--import', 'tsx', join(import.meta.dirname, file)], {env: {...process.env, ...env}, stdio: ['ignore', 'pipe', 'pipe']}))
}

export function startCli(args: string[], env: Record<string, string> = {}): Child {
  return track(spawn(process.execPath, [join(root, 'bin', 'run.js'), ...args], {env: {...process.env, ...env}, stdio: ['ignore', 'pipe', 'pipe']}))
}

/** Kills the child after timeoutMs if it has not exited by then. */
export async function exitWithin(child: Child, timeoutMs: number): Promise<Exit & {timedOut: boolean}> {
  let timedOut = false
  const timer = setTimeout(() => {
    timedOut = true
    child.process.kill('SIGCONT')
    child.process.kill('SIGKILL')
  }, timeoutMs)
  const exit = await child.exit
  clearTimeout(timer)
  return {...exit, timedOut}
}

/** Whether a process is stopped (SIGSTOP): state T in /proc. */
export function isStopped(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    return stat.slice(stat.lastIndexOf(')') + 2).startsWith('T')
  } catch {
    return false
  }
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))
