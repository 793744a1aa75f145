/**
 * The faults a chaos run injects, one at a time at random moments. Each returns a short label of
 * what happened, for the run's tally.
 */
import type {Random} from './random.js'
import {exitWithin, isStopped, sleep, startCli, type Child} from './processes.js'
import type {DedicatedDatabase, DedicatedRedis} from './services.js'

export interface FaultContext {
  random: Random
  configFile: string
  leaseTtlMs: number
  db: DedicatedDatabase
  redis?: DedicatedRedis
  /** Writer processes that flush on timers (pausing one may pause a lease holder). */
  writers: Child[]
  /** Memory driver: stop the application gracefully (SIGTERM) and start it again. */
  restartApp?: () => Promise<void>
}

export type Fault = (ctx: FaultContext) => Promise<string>

const FAILPOINTS = ['after-claim', 'mid-transaction', 'after-commit'] as const

const flushCli = (ctx: FaultContext, env: Record<string, string> = {}) => startCli(['flush', '--config', ctx.configFile, '--json'], env)

/** What a cron job does after a crash: release the lease if its holder is dead (refused otherwise). */
async function releaseDeadHolder(ctx: FaultContext): Promise<void> {
  await exitWithin(startCli(['locks', 'release', 'flush', '--yes', '--json', '--config', ctx.configFile]), 30_000)
}

async function forceRelease(ctx: FaultContext): Promise<number | null> {
  return (await exitWithin(startCli(['locks', 'release', 'flush', '--force', '--yes', '--json', '--config', ctx.configFile]), 30_000)).code
}

export const faults: Record<string, Fault> = {
  /** `wbc flush` dies (SIGKILL) at a named point of the flush protocol. */
  async 'flush-killed-at-failpoint'(ctx) {
    const point = ctx.random.pick(FAILPOINTS)
    const exit = await exitWithin(flushCli(ctx, {WBC_FAILPOINT: point}), 60_000)
    await releaseDeadHolder(ctx)
    return exit.signal === 'SIGKILL' ? `killed ${point}` : `exit ${exit.code} before ${point}`
  },

  /** `wbc flush` is killed at a random moment (starting, claiming, writing, acknowledging). */
  async 'flush-killed-randomly'(ctx) {
    const child = flushCli(ctx)
    await sleep(ctx.random.int(200, 900))
    child.process.kill('SIGKILL')
    const exit = await child.exit
    await releaseDeadHolder(ctx)
    return exit.signal === 'SIGKILL' ? 'killed' : `exit ${exit.code} first`
  },

  /** Every connection to the run's database is terminated, mid-transaction or idle. */
  async 'db-connections-terminated'(ctx) {
    return `${await ctx.db.terminateConnections()} terminated`
  },

  /** A flusher is paused past its lease while another takes over; then it resumes. */
  async 'writer-paused-past-lease'(ctx) {
    const writer = ctx.random.pick(ctx.writers)
    writer.process.kill('SIGSTOP')
    await sleep(ctx.leaseTtlMs + ctx.random.int(200, 800))
    writer.process.kill('SIGCONT')
    return 'paused'
  },

  /** A `wbc flush` stopped right after its claim loses its lease to `wbc locks release --force`. */
  async 'flusher-force-released'(ctx) {
    const child = flushCli(ctx, {WBC_FAILPOINT: 'after-claim:stop'})
    const deadline = Date.now() + 30_000
    while (!isStopped(child.process.pid!) && child.process.exitCode === null && Date.now() < deadline) await sleep(20)
    if (!isStopped(child.process.pid!)) {
      await exitWithin(child, 30_000)
      return 'no claim (lease held or nothing to do)'
    }
    const released = await forceRelease(ctx)
    await sleep(ctx.random.int(0, 1000)) // Another flusher may take over and recover its batch.
    child.process.kill('SIGCONT')
    const exit = await exitWithin(child, 60_000)
    return `released (exit ${released}), resumed flusher exit ${exit.code}`
  },

  /** A writer that may hold the lease is paused, its lease force-released, then resumed. */
  async 'writer-force-released'(ctx) {
    const writer = ctx.random.pick(ctx.writers)
    writer.process.kill('SIGSTOP')
    const released = await forceRelease(ctx)
    await sleep(ctx.random.int(100, 600))
    writer.process.kill('SIGCONT')
    return `released (exit ${released})`
  },

  /**
   * The memory-driver application is restarted as a deploy would: SIGTERM (last flush and
   * checkpoint), then a new process recovers the checkpoint; socket writers reconnect.
   */
  async 'app-restarted'(ctx) {
    if (!ctx.restartApp) return 'no app'
    await ctx.restartApp()
    return 'restarted'
  },

  /** The dedicated Redis is killed (SIGKILL) and restarted from its append-only file. */
  async 'redis-killed-and-restarted'(ctx) {
    if (!ctx.redis) return 'no redis'
    await ctx.redis.crashAndRestart(ctx.random.int(100, 1000))
    return 'restarted'
  },
}

export function faultsFor(driver: 'memory' | 'redis'): string[] {
  const only = driver === 'redis' ? 'app-restarted' : 'redis-killed-and-restarted'
  return Object.keys(faults).filter((name) => name !== only)
}
