import {spawn, type ChildProcess} from 'node:child_process'
import {mkdtempSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {createInterface} from 'node:readline'

import {afterEach, describe, expect, it} from 'vitest'

import {uniquePrefix} from '../../support/services.js'

const fixtures = join(import.meta.dirname, '..', '..', 'fixtures')
const MB = 1024 * 1024

/** A fixture process whose stdout lines can be awaited one by one. */
function start(name: string, env: Record<string, string>) {
  const child = spawn(process.execPath, ['--import', 'tsx', join(fixtures, name)], {env: {...process.env, ...env}, stdio: ['pipe', 'pipe', 'inherit']})
  const lines: string[] = []
  const waiting: Array<(line: string) => void> = []
  createInterface({input: child.stdout!}).on('line', (line) => {
    const next = waiting.shift()
    if (next) next(line)
    else lines.push(line)
  })
  const nextLine = () => new Promise<string>((resolve) => (lines.length > 0 ? resolve(lines.shift()!) : waiting.push(resolve)))
  return {child, nextLine}
}

const running: ChildProcess[] = []
afterEach(() => {
  for (const child of running.splice(0)) child.kill('SIGKILL')
})

const p99 = (samples: number[]) => [...samples].sort((a, b) => a - b)[Math.floor(samples.length * 0.99)]

/**
 * The application's own writes, timed in its process, with and without a hostile socket client,
 * in alternating windows of the same run (the attacker is stopped and continued), so that both
 * samples see the same load of the machine: the slowdown is a ratio of p99s, the memory a bound.
 */
async function underAttack(ipc: Record<string, unknown>, hostile: Record<string, string>, victimEnv: Record<string, string> = {}) {
  const socket = join(mkdtempSync(join(tmpdir(), 'wbc-hostile-')), 'wbc.sock')
  const prefix = uniquePrefix()
  const victim = start('socket-victim.ts', {WBC_TEST_CONFIG: JSON.stringify({ipc: {driver: 'memory', prefix, socket, ...ipc}}), ...victimEnv})
  running.push(victim.child)
  expect(JSON.parse(await victim.nextLine())).toBe('ready')
  const measure = async (ms: number) => {
    victim.child.stdin!.write(`measure ${ms}\n`)
    return JSON.parse(await victim.nextLine()) as {latencies: number[]; maxRss: number}
  }
  const before = await measure(500) // Also warms up.
  const attacker = start('hostile-socket-client.ts', {SOCKET: socket, LIST: `${prefix}:big`, ...hostile})
  running.push(attacker.child)
  expect(await attacker.nextLine()).toBe('sending')
  const quiet: number[] = []
  const attacked: number[] = []
  let maxRss = 0
  for (let round = 0; round < 6; round++) {
    attacker.child.kill('SIGSTOP')
    quiet.push(...(await measure(500)).latencies)
    attacker.child.kill('SIGCONT')
    const window = await measure(500)
    attacked.push(...window.latencies)
    maxRss = Math.max(maxRss, window.maxRss)
  }
  attacker.child.kill('SIGKILL')
  return {quietP99: p99(quiet), attackedP99: p99(attacked), ratio: p99(attacked) / p99(quiet), rssGrowthMb: (maxRss - before.maxRss) / MB}
}

describe('memory socket under a hostile client', {timeout: 60_000}, () => {
  it('a request line that never ends (default limit, reconnecting) leaves the application flat', async () => {
    const r = await underAttack({}, {MODE: 'huge-line'})
    expect(r.ratio, JSON.stringify(r)).toBeLessThan(20)
    expect(r.rssGrowthMb, JSON.stringify(r)).toBeLessThan(200)
  })

  it('a request line that never ends under a 32 MiB limit: each byte is scanned once', async () => {
    const r = await underAttack({maxRequestBytes: 32 * MB}, {MODE: 'huge-line'})
    expect(r.ratio, JSON.stringify(r)).toBeLessThan(20)
    expect(r.rssGrowthMb, JSON.stringify(r)).toBeLessThan(200)
  })

  it('requests whose answers are never read are not run faster than they are read', async () => {
    // 600 answers of about 1 MB each: 600 MB if they were all produced.
    const r = await underAttack({}, {MODE: 'flood', REQUESTS: '600'}, {LIST_ITEMS: '1000', ITEM_BYTES: '1000'})
    expect(r.ratio, JSON.stringify(r)).toBeLessThan(20)
    expect(r.rssGrowthMb, JSON.stringify(r)).toBeLessThan(200)
  })
})
