import {chmodSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, statSync, symlinkSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {parseConfig} from '../../src/core/config/load.js'
import {createIpc} from '../../src/core/ipc/create.js'
import type {Ipc} from '../../src/core/ipc/types.js'
import {runCli} from '../support/cli.js'
import {cleanRedisPrefix, driversUp} from '../support/engine.js'
import {uniquePrefix, urls} from '../support/services.js'

const modeOf = (path: string) => statSync(path).mode & 0o777

/** Files the commands write: never through a link someone planted, owner-only where they hold data. */
describe.skipIf(!driversUp.redis)('metrics --out and compact --archive (redis)', () => {
  const prefix = uniquePrefix()
  let ipc: Ipc
  let cwd: string
  const wbc = (...args: string[]) => runCli(args, {cwd})

  beforeAll(async () => {
    ipc = await createIpc(parseConfig({ipc: {driver: 'redis', redis: urls.redis}}).ipc)
    cwd = mkdtempSync(join(tmpdir(), 'wbc-outfiles-'))
    writeFileSync(join(cwd, 'wbc.config.json'), JSON.stringify({ipc: {driver: 'redis', redis: urls.redis, prefix}}))
  })
  afterAll(async () => {
    await cleanRedisPrefix(prefix)
    await ipc.close()
  })

  it('metrics --out refuses a symbolic link at the path; a new file is written whole, readable by a collector', async () => {
    const victim = join(cwd, 'victim')
    writeFileSync(victim, 'secret', {mode: 0o600})
    const link = join(cwd, 'linked.prom')
    symlinkSync(victim, link)
    const refused = await wbc('metrics', '--out', link)
    expect(refused.code).toBe(2)
    expect(refused.stderr).toContain(`the metrics file ${link} is a symbolic link; wbc does not write through links`)
    expect(readlinkSync(link)).toBe(victim)
    expect(readFileSync(victim, 'utf8')).toBe('secret')

    const out = join(cwd, 'wbc.prom')
    const written = await wbc('metrics', '--out', out)
    expect(written.code).toBe(0)
    expect(readFileSync(out, 'utf8')).toBe((await wbc('metrics')).stdout)
    expect(modeOf(out)).toBe(0o644)
    expect(readdirSync(cwd).filter((name) => name.endsWith('.tmp'))).toEqual([])
  })

  it('compact --archive refuses a symbolic link (nothing removed, the target untouched) and narrows a loose archive to 0600', async () => {
    const key = `${prefix}:lists:recent`
    await ipc.rpush(key, ...Array.from({length: 12}, (_, i) => ({n: i})))
    const target = join(cwd, 'target.ndjson')
    writeFileSync(target, 'kept\n', {mode: 0o600})
    const link = join(cwd, 'archive-link.ndjson')
    symlinkSync(target, link)
    const refused = await wbc('compact', 'lists:recent', '--max-count', '5', '--archive', link, '--json')
    expect(refused.code).toBe(2)
    expect(JSON.parse(refused.stdout).error).toMatchObject({code: 'SYMLINK_REFUSED', message: `the archive ${link} is a symbolic link; wbc does not write through links`})
    expect(await ipc.llen(key)).toBe(12)
    expect(readFileSync(target, 'utf8')).toBe('kept\n')

    const archive = join(cwd, 'archive.ndjson')
    writeFileSync(archive, '{"earlier":true}\n')
    chmodSync(archive, 0o644)
    const done = await wbc('compact', 'lists:recent', '--max-count', '5', '--archive', archive, '--json')
    expect(done.code).toBe(0)
    expect(JSON.parse(done.stdout)).toMatchObject({removed: 7, kept: 5, archive})
    expect(readFileSync(archive, 'utf8')).toBe(['{"earlier":true}', ...Array.from({length: 7}, (_, i) => JSON.stringify({n: i}))].join('\n') + '\n')
    expect(modeOf(archive)).toBe(0o600)
  })
})
