/**
 * Dashboard refresh cost: the CPU share of a running `wbc dashboard` (in tmux, 80x24, 1 s refresh)
 * with 100,000 pending counter keys in Redis, sampled from /proc over 20 s after a warm-up.
 * Usage: node --import tsx bench/dashboard-cpu.ts [keys] [seconds]
 */
import {execFileSync} from 'node:child_process'
import {mkdtempSync, readFileSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {createIpc} from '../dist/core/ipc/create.js'
import {deleteMatching} from '../dist/core/ipc/cursor.js'
import {parseConfig} from '../dist/core/config/load.js'
import {stepsFor} from '../dist/core/buffer/steps/index.js'

const keys = Number(process.argv[2] ?? 100_000)
const seconds = Number(process.argv[3] ?? 20)
const redis = process.env.WBC_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379'
const prefix = `wbbench${process.pid}`
const bin = join(import.meta.dirname, '..', 'bin', 'run.js')
const socket = `wbcbench${process.pid}`
const tmux = (...args: string[]) => execFileSync('tmux', ['-L', socket, ...args], {encoding: 'utf8'})
const ticks = (pid: number) => {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ')
  return Number(fields[11]) + Number(fields[12]) // utime + stime, in clock ticks
}

const ipc = await createIpc(parseConfig({ipc: {driver: 'redis', redis}}).ipc)
try {
  for (let i = 0; i < keys; i += 1000) {
    await Promise.all(Array.from({length: Math.min(1000, keys - i)}, (_, j) => stepsFor(ipc).increment(prefix, `default:posts:${i + j}:views`, 1)))
  }
  const cwd = mkdtempSync(join(tmpdir(), 'wbc-bench-'))
  writeFileSync(join(cwd, 'wbc.config.json'), JSON.stringify({ipc: {driver: 'redis', redis, prefix}}))
  tmux('new-session', '-d', '-s', 'dash', '-x', '80', '-y', '24', `cd ${cwd} && ${process.execPath} ${bin} dashboard --interval 1s`)
  await new Promise((resolve) => setTimeout(resolve, 5000))
  // The node process itself, not the shell tmux started it with.
  const pid = execFileSync('pgrep', ['-f', `${bin} dashboard`], {encoding: 'utf8'})
    .trim()
    .split('\n')
    .map(Number)
    .find((p) => readFileSync(`/proc/${p}/comm`, 'utf8').trim() === 'node')!
  const hz = Number(execFileSync('getconf', ['CLK_TCK'], {encoding: 'utf8'}))
  const start = ticks(pid)
  const t0 = Date.now()
  await new Promise((resolve) => setTimeout(resolve, seconds * 1000))
  const share = (ticks(pid) - start) / hz / ((Date.now() - t0) / 1000)
  const screen = tmux('capture-pane', '-p', '-t', 'dash')
  console.log(screen.split('\n').slice(0, 6).join('\n'))
  console.log(JSON.stringify({scenario: 'dashboard refresh cost', pendingKeys: keys, refresh: '1s', seconds, cpuShareOfOneCore: Number(share.toFixed(3))}))
} finally {
  try {
    tmux('kill-server')
  } catch {
    // Not started.
  }
  await deleteMatching(ipc, `${prefix}:*`)
  await ipc.close()
}
