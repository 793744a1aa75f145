import {mkdtempSync, readFileSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {describe, expect, it} from 'vitest'

import {runCli} from '../support/cli.js'
import {driversUp} from '../support/engine.js'
import {uniquePrefix, urls} from '../support/services.js'

const register = join(import.meta.dirname, '..', 'fixtures', 'module-log', 'register.mjs')

/** Every module a `wbc` run loaded through the ESM loader (file URLs), read from the module log. */
async function modulesLoadedBy(args: string[], cwd: string): Promise<string[]> {
  const log = join(cwd, 'modules.log')
  writeFileSync(log, '')
  const {code, stderr} = await runCli(args, {cwd, env: {NODE_OPTIONS: `--import ${register}`, WBC_TEST_MODULE_LOG: log}})
  expect(code, stderr).toBe(0)
  return readFileSync(log, 'utf8').split('\n').filter(Boolean)
}

/** The node_modules packages among them. */
const packagesOf = (urls: string[]) => new Set(urls.map((url) => /node_modules\/((@[^/]+\/)?[^/]+)\//.exec(url)?.[1]).filter((name): name is string => name !== undefined))

// Cron and monitoring probes run `wbc status` often: it loads what it uses and nothing more.
describe.skipIf(!driversUp.redis)('what a status probe loads', () => {
  it('wbc status --json against Redis loads neither knex, nor LMDB, nor Ink, nor the table drawer, and zod and ioredis as one module each', async () => {
    const cwd = mkdtempSync(join(tmpdir(), 'wbc-start-'))
    writeFileSync(join(cwd, 'wbc.config.json'), JSON.stringify({ipc: {driver: 'redis', redis: urls.redis, prefix: uniquePrefix()}}))
    const [status, version] = [await modulesLoadedBy(['status', '--json'], cwd), await modulesLoadedBy(['--version'], cwd)]
    // The log sees this run's own modules: it did validate the config and reach Redis.
    for (const module of ['core/config/zod-core.js', 'core/ipc/redis/ioredis.js', 'core/ipc/redis/driver.js'])
      expect(
        status.some((url) => url.endsWith(`/dist/${module}`)),
        module,
      ).toBe(true)
    const loaded = packagesOf(status)
    for (const name of ['knex', 'lmdb', 'ink', 'react', 'cli-table3', 'pg', 'mysql2', 'better-sqlite3']) expect(loaded, name).not.toContain(name)
    // zod (95 modules, 64 of them locales) and ioredis (~55) are inlined by the build: no package
    // loads beyond those of `wbc --version`.
    expect([...loaded].filter((name) => !packagesOf(version).has(name))).toEqual([])
  })
})
