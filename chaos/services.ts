/**
 * The services a chaos run owns: a Redis server of its own (so it can be killed and restarted
 * with an append-only file) and a database of its own (so its connections can be terminated
 * without touching anyone else's).
 */
import {spawn, type ChildProcess} from 'node:child_process'
import {copyFileSync, mkdtempSync, rmSync} from 'node:fs'
import {createConnection, createServer} from 'node:net'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {Redis} from 'ioredis'
import knexFactory, {type Knex} from 'knex'

import {resolveConnection} from '../src/core/config/connections.js'

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const {port} = server.address() as {port: number}
      server.close(() => resolve(port))
    })
  })
}

function answers(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({host: '127.0.0.1', port})
    let reply = ''
    const done = (ok: boolean) => {
      socket.destroy()
      resolve(ok)
    }
    socket.setTimeout(500, () => done(false))
    socket.once('connect', () => socket.write('PING\r\n'))
    // While it loads its append-only file Redis answers -LOADING: not ready yet.
    socket.on('data', (chunk) => {
      reply += chunk
      if (reply.includes('\r\n')) done(reply.startsWith('+PONG'))
    })
    socket.once('error', () => done(false))
  })
}

/** A redis-server on a free port that writes every command to its append-only file before answering. */
export class DedicatedRedis {
  private child?: ChildProcess
  private readonly dir = mkdtempSync(join(tmpdir(), 'wbc-chaos-redis-'))

  private constructor(
    readonly port: number,
    private readonly appendonly: boolean,
  ) {}

  /**
   * `appendonly` (default true, with `appendfsync always`): false leaves Redis's default, RDB
   * snapshots only, taken when the caller says SAVE (tests of a store that forgets).
   */
  static async start(options: {appendonly?: boolean} = {}): Promise<DedicatedRedis> {
    const redis = new DedicatedRedis(await freePort(), options.appendonly ?? true)
    await redis.launch()
    return redis
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`
  }

  private async launch(appendonly = this.appendonly): Promise<void> {
    const args = ['--port', String(this.port), '--bind', '127.0.0.1', '--dir', this.dir, '--appendonly', appendonly ? 'yes' : 'no', '--appendfsync', 'always', '--save', '']
    this.child = spawn('redis-server', args, {stdio: 'ignore'})
    const deadline = Date.now() + 15_000
    while (!(await answers(this.port))) {
      if (Date.now() > deadline) throw new Error(`redis-server on port ${this.port} did not start`)
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
  }

  /** SIGKILL (no shutdown save), then start again from what it persisted. */
  async crashAndRestart(downMs = 0): Promise<void> {
    await this.kill()
    await new Promise((resolve) => setTimeout(resolve, downMs))
    await this.launch()
  }

  /** Writes an RDB snapshot of the current data and keeps a copy of it aside. */
  async snapshot(): Promise<void> {
    await this.command('SAVE')
    copyFileSync(join(this.dir, 'dump.rdb'), join(this.dir, 'older.rdb'))
  }

  /**
   * SIGKILL, then start again from the snapshot kept aside, as a Redis restored from an old RDB
   * would (its append-only file gone): everything written since the snapshot is forgotten.
   */
  async restartFromSnapshot(): Promise<void> {
    await this.kill()
    rmSync(join(this.dir, 'appendonlydir'), {recursive: true, force: true})
    copyFileSync(join(this.dir, 'older.rdb'), join(this.dir, 'dump.rdb'))
    await this.launch(false)
    // Persistence back on for the rest of the run (rewritten from the data just loaded).
    await this.command('CONFIG', 'SET', 'appendonly', 'yes')
  }

  /** One command on a connection of its own (SAVE, CONFIG, DEL …). */
  async command(name: string, ...args: string[]): Promise<unknown> {
    const client = new Redis(this.port, '127.0.0.1', {lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null})
    client.on('error', () => {})
    try {
      await client.connect()
      return await client.call(name, ...args)
    } finally {
      client.disconnect()
    }
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

/** A database created for the run on the server `adminUrl` points at; dropped by drop(). */
export class DedicatedDatabase {
  private constructor(
    readonly dialect: 'postgres' | 'mysql',
    readonly name: string,
    readonly url: string,
    private readonly admin: Knex,
  ) {}

  static async create(adminUrl: string, name: string): Promise<DedicatedDatabase> {
    const resolved = resolveConnection('admin', adminUrl)
    if (resolved.dialect === 'sqlite') throw new Error('a chaos run needs PostgreSQL or MariaDB')
    const admin = knexFactory({...resolved.knex, pool: {min: 0, max: 2}})
    const quoted = resolved.dialect === 'postgres' ? `"${name}"` : `\`${name}\``
    await admin.raw(`CREATE DATABASE ${quoted}`)
    const url = new URL(adminUrl)
    url.pathname = `/${name}`
    return new DedicatedDatabase(resolved.dialect, name, url.toString(), admin)
  }

  /** A connection of the run's own, open only while fn runs (so terminations never hit it). */
  async using<T>(fn: (knex: Knex) => Promise<T>): Promise<T> {
    const knex = knexFactory({...resolveConnection('run', this.url).knex, pool: {min: 0, max: 1}})
    try {
      return await fn(knex)
    } finally {
      await knex.destroy()
    }
  }

  /** Terminates every connection to this database (the engine's, mid-transaction or idle). */
  async terminateConnections(): Promise<number> {
    if (this.dialect === 'postgres') {
      const result = await this.admin.raw('SELECT pg_terminate_backend(pid) AS t FROM pg_stat_activity WHERE datname = ? AND pid <> pg_backend_pid()', [this.name])
      return result.rows.length
    }
    const [rows] = await this.admin.raw('SELECT id FROM information_schema.processlist WHERE db = ? AND id <> CONNECTION_ID()', [this.name])
    let killed = 0
    for (const row of rows as Array<{id: number}>) {
      // A connection may end by itself in between; that is as good as killed.
      await this.admin.raw(`KILL CONNECTION ${Number(row.id)}`).then(
        () => killed++,
        () => {},
      )
    }
    return killed
  }

  async drop(): Promise<void> {
    if (this.dialect === 'postgres') await this.admin.raw(`DROP DATABASE IF EXISTS "${this.name}" WITH (FORCE)`)
    else {
      await this.terminateConnections()
      await this.admin.raw(`DROP DATABASE IF EXISTS \`${this.name}\``)
    }
    await this.admin.destroy()
  }
}
