import {mkdtempSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {describe, expect, it} from 'vitest'

import {runCli} from '../support/cli.js'

const dir = () => mkdtempSync(join(tmpdir(), 'wbc-cli-'))

describe('wbc config', () => {
  it('prints the embedded default as one JSON document', async () => {
    const cwd = dir()
    const {code, stdout} = await runCli(['config', '--json'], {cwd})
    expect(code).toBe(0)
    const report = JSON.parse(stdout)
    expect(report).toMatchObject({
      file: null,
      source: 'defaults',
      format: 'wbc',
      overrides: [],
      driver: 'memory',
      connections: [{name: 'default', dialect: 'sqlite', target: `sqlite:${join(cwd, '.wbc/wbc.sqlite')}`}],
    })
    expect(report.config.buffer).toEqual({
      flushInterval: 5000,
      checkpointInterval: 30000,
      maxQueueSize: 10000,
      primaryKey: 'id',
      insertBatchSize: 1000,
      statementTimeoutMs: 5000,
      checkpointPath: join(cwd, '.wbc/checkpoint.lmdb'),
    })
  })

  it('never shows a password from the file or the environment', async () => {
    const cwd = dir()
    writeFileSync(
      join(cwd, 'odac.json'),
      JSON.stringify({
        ipc: {driver: 'redis'},
        database: {redis: {default: {url: 'redis://:redis-pw-1@127.0.0.1:6379'}}, type: 'postgres', host: 'db', user: 'app', password: 'pg-pw-2', database: 'shop'},
      }),
    )
    const env = {DATABASE_URL: undefined, WBC_REDIS_URL: undefined}
    for (const args of [['config'], ['config', '--json']]) {
      const {code, stdout, stderr} = await runCli(args, {cwd, env})
      expect(code).toBe(0)
      expect(stdout + stderr).not.toMatch(/redis-pw-1|pg-pw-2/)
      expect(stdout).toContain('postgres://app:***@db/shop')
    }
    const overridden = await runCli(['config'], {cwd, env: {DATABASE_URL: 'postgres://u:env-pw-3@h/db', WBC_REDIS_URL: 'redis://:env-pw-4@h:1'}})
    expect(overridden.stdout).toContain('postgres://u:***@h/db')
    expect(overridden.stdout + overridden.stderr).not.toMatch(/env-pw-3|env-pw-4/)
  })

  it('exits 2 with the file, the path and the fix for a bad config', async () => {
    const cwd = dir()
    const file = join(cwd, 'wbc.config.json')
    writeFileSync(file, JSON.stringify({ipc: {driver: 'redis', redis: 'redis://:leak-pw@h:1'}, buffer: {maxQueueSize: -1}}))
    const text = await runCli(['config'], {cwd})
    expect(text.code).toBe(2)
    expect(text.stdout).toBe('')
    expect(text.stderr).toBe(`Error: ${file}: buffer.maxQueueSize: Too small: expected number to be >0\nHint: See the Configuration section of the README for every field and its default.\n`)
    const json = await runCli(['config', '--json'], {cwd})
    expect(json.code).toBe(2)
    expect(JSON.parse(json.stdout)).toEqual({
      error: {
        code: 'CONFIG_INVALID',
        message: `${file}: buffer.maxQueueSize: Too small: expected number to be >0`,
        hint: 'See the Configuration section of the README for every field and its default.',
        exitCode: 2,
      },
    })
  })

  it('exits 2 for unknown flags, and answers --help with examples', async () => {
    const bad = await runCli(['config', '--frobnicate'])
    expect(bad.code).toBe(2)
    expect(bad.stderr).toContain('Nonexistent flag: --frobnicate')
    const help = await runCli(['config', '--help'])
    expect(help.code).toBe(0)
    expect(help.stdout).toContain('EXAMPLES')
    expect(help.stdout).toContain('--json')
  })
})
