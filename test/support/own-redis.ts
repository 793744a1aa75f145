import {spawn, type ChildProcess} from 'node:child_process'
import {mkdtempSync, rmSync} from 'node:fs'
import {createServer} from 'node:net'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {Redis} from 'ioredis'

import {sleep} from './spawn.js'

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const {port} = server.address() as {port: number}
      server.close(() => resolve(port))
    })
  })
}

/**
 * A redis-server of the test's own on a free port, persisting as asked (default: Redis's own
 * default — RDB snapshots only, here taken when the test says SAVE), that can be killed and
 * restarted from what it persisted.
 */
export class OwnRedis {
  private child?: ChildProcess
  private readonly dir = mkdtempSync(join(tmpdir(), 'wbc-own-redis-'))

  private constructor(
    readonly port: number,
    private readonly args: string[],
  ) {}

  static async start(options: {appendonly?: boolean} = {}): Promise<OwnRedis> {
    const redis = new OwnRedis(await freePort(), ['--appendonly', options.appendonly ? 'yes' : 'no', '--save', ''])
    await redis.launch()
    return redis
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`
  }

  private async launch(): Promise<void> {
    this.child = spawn('redis-server', ['--port', String(this.port), '--bind', '127.0.0.1', '--dir', this.dir, ...this.args], {stdio: 'ignore'})
    const deadline = Date.now() + 15_000
    for (;;) {
      try {
        await this.command('PING')
        return
      } catch {
        if (Date.now() > deadline) throw new Error(`redis-server on port ${this.port} did not start`)
        await sleep(50)
      }
    }
  }

  /** One command on a connection of its own (SAVE, CONFIG …). */
  async command(name: string, ...args: string[]): Promise<unknown> {
    const redis = new Redis(this.port, '127.0.0.1', {lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null})
    redis.on('error', () => {})
    try {
      await redis.connect()
      return await redis.call(name, ...args)
    } finally {
      redis.disconnect()
    }
  }

  /** SIGKILL (no shutdown save), then start again from what it persisted. */
  async crashAndRestart(): Promise<void> {
    await this.kill()
    await this.launch()
  }

  private kill(): Promise<void> {
    const child = this.child
    if (!child || child.exitCode !== null || child.signalCode !== null) return Promise.resolve()
    return new Promise((resolve) => {
      child.once('exit', () => resolve())
      child.kill('SIGKILL')
    })
  }

  async stop(): Promise<void> {
    await this.kill()
    rmSync(this.dir, {recursive: true, force: true})
  }
}
