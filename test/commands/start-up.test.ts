import {mkdtempSync, readFileSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {describe, expect, it} from 'vitest'

import {runCli} from '../support/cli.js'
import {driversUp} from '../support/engine.js'
import {uniquePrefix, urls} from '../support/services.js'

const register = join(import.meta.dirname, '..', 'fixtures', 'module-log', 'register.mjs')

/** The packages a `wbc` run loaded (node_modules names), read from the module log. */
async function packagesLoadedBy(args: string[], cwd: string): Promise<Set<string>> {
  const log = join(cwd, 'modules.log')
  writeFileSync(log, '')
  const {code, stderr} = await runCli(args, {cwd, env: {NODE_OPTIONS: `--import ${register}`, WBC_TEST_MODULE_LOG: log}})
  expect(code, stderr).toBe(0)
  const names = readFileSync(log, 'utf8').split('\n').map((url) => /node_modules\/((@[^/]+\/)?[^/]+)\//.exec(url)?.[1])
  return new Set(names.filter((name): name is string => name !== undefined))
}

// Cron and monitoring probes run `wbc status` often: it loads what it uses and nothing more.
describe.skipIf(!driversUp.redis)('what a status probe loads', () => {
  it('wbc status --json against Redis loads neither knex, nor LMDB, nor Ink, nor the table drawer', async () => {
    const cwd = mkdtempSync(join(tmpdir(), 'wbc-start-'))
    writeFileSync(join(cwd, 'wbc.config.json'), JSON.stringify({ipc: {driver: 'redis', redis: urls.redis, prefix: uniquePrefix()}}))
    const loaded = await packagesLoadedBy(['status', '--json'], cwd)
    expect(loaded).toContain('ioredis') // The log sees packages: this run did load its client.
    for (const name of ['knex', 'lmdb', 'ink', 'react', 'cli-table3', 'pg', 'mysql2', 'better-sqlite3']) expect(loaded, name).not.toContain(name)
  })
})
