import {execFileSync, spawn, type ChildProcess} from 'node:child_process'
import {mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {freePort} from '../../chaos/services.js'
import {canConnect} from './services.js'
import {sleep} from './spawn.js'

export interface AclUser {
  name: string
  password: string
  /** ACL rules after the password, e.g. `~* &* +@all`. */
  rules: string
}

/**
 * A redis-server of the test's own with a plain port and a TLS port (a throwaway CA and server
 * certificate made with openssl at start) and an ACL file with the given users; `default` is off.
 * `start` answers null when this redis-server cannot do TLS (the caller skips loudly).
 */
export class TlsRedis {
  private child?: ChildProcess

  private constructor(
    readonly dir: string,
    readonly port: number,
    readonly tlsPort: number,
  ) {}

  static async start(users: AclUser[]): Promise<TlsRedis | null> {
    const dir = mkdtempSync(join(tmpdir(), 'wbc-tls-redis-'))
    const ssl = (...args: string[]) => execFileSync('openssl', args, {cwd: dir, stdio: 'ignore'})
    ssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '1', '-subj', '/CN=wbc test CA')
    ssl('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=localhost')
    writeFileSync(join(dir, 'san.cnf'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n')
    ssl('x509', '-req', '-in', 'server.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'server.crt', '-days', '1', '-extfile', 'san.cnf')
    writeFileSync(join(dir, 'users.acl'), ['user default off', ...users.map((u) => `user ${u.name} on >${u.password} ${u.rules}`)].join('\n') + '\n')
    const redis = new TlsRedis(dir, await freePort(), await freePort())
    const started = await redis.launch()
    if (!started) {
      await redis.stop()
      return null
    }
    return redis
  }

  /** The CA certificate (PEM) that signed the server's certificate. */
  get caFile(): string {
    return join(this.dir, 'ca.crt')
  }

  get caPem(): string {
    return readFileSync(this.caFile, 'utf8')
  }

  private async launch(): Promise<boolean> {
    const d = (name: string) => join(this.dir, name)
    this.child = spawn(
      'redis-server',
      [
        '--port',
        String(this.port),
        '--tls-port',
        String(this.tlsPort),
        '--bind',
        '127.0.0.1',
        '--dir',
        this.dir,
        '--save',
        '',
        '--appendonly',
        'no',
        '--tls-cert-file',
        d('server.crt'),
        '--tls-key-file',
        d('server.key'),
        '--tls-ca-cert-file',
        d('ca.crt'),
        '--tls-auth-clients',
        'no',
        '--aclfile',
        d('users.acl'),
      ],
      {stdio: 'ignore'},
    )
    let exited = false
    this.child.once('exit', () => (exited = true))
    const deadline = Date.now() + 15_000
    while (Date.now() < deadline) {
      if (exited) return false
      if ((await canConnect('127.0.0.1', this.tlsPort, 200)) && (await canConnect('127.0.0.1', this.port, 200))) return true
      await sleep(50)
    }
    return false
  }

  async stop(): Promise<void> {
    const child = this.child
    if (child && child.exitCode === null && child.signalCode === null) {
      await new Promise<void>((resolve) => {
        child.once('exit', () => resolve())
        child.kill('SIGKILL')
      })
    }
    rmSync(this.dir, {recursive: true, force: true})
  }
}
