import {randomBytes} from 'node:crypto'
import {createConnection} from 'node:net'

/** Connection URLs of the shared services; override them with these variables. */
export const urls = {
  redis: process.env.WBC_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379',
  postgres: process.env.WBC_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test',
  mysql: process.env.WBC_TEST_MYSQL_URL ?? 'mysql://root@127.0.0.1:3306/test',
}
export type Service = keyof typeof urls

function hostPort(url: string): {host: string; port: number} {
  const parsed = new URL(url)
  const defaults: Record<string, number> = {'redis:': 6379, 'postgres:': 5432, 'mysql:': 3306}
  return {host: parsed.hostname || '127.0.0.1', port: Number(parsed.port) || defaults[parsed.protocol] || 0}
}

export function canConnect(host: string, port: number, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({host, port})
    const done = (ok: boolean) => {
      socket.destroy()
      resolve(ok)
    }
    socket.setTimeout(timeoutMs, () => done(false))
    socket.once('connect', () => done(true))
    socket.once('error', () => done(false))
  })
}

/**
 * Whether a service is reachable. Off CI an unreachable service skips its tests with a loud
 * message; under CI=true it fails the run, since .ci/run has already tried to start it.
 */
export async function available(service: Service): Promise<boolean> {
  const {host, port} = hostPort(urls[service])
  if (await canConnect(host, port)) return true
  const message = `${service} at ${host}:${port} is not reachable`
  if (process.env.CI === 'true') throw new Error(`${message} (CI=true: services must be up)`)
  console.warn(`\n!!!! SKIPPING ${service.toUpperCase()} TESTS: ${message}. Start it to run them. !!!!\n`)
  return false
}

/** A key prefix (and table-name stem) unique to this run and file, so parallel runs never collide. */
export function uniquePrefix(stem = 'wbt'): string {
  return `${stem}${process.pid}_${randomBytes(3).toString('hex')}`
}
