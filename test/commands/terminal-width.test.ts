import {mkdtempSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import stringWidth from 'string-width'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import type {WriteBuffer} from '../../src/core/buffer/write-buffer.js'
import {renderTable} from '../../src/ui/table.js'
import {createLogTable, createPostsTable, openTestDb, type TestDb} from '../support/db.js'
import {cleanRedisPrefix, driversUp, openEngine} from '../support/engine.js'
import {runCli} from '../support/cli.js'
import {uniquePrefix, urls} from '../support/services.js'
import {runInTerminal, terminalAvailable} from '../support/terminal.js'

const widest = (lines: string[]) => Math.max(...lines.map((line) => stringWidth(line)))

describe('tables fit the width they are given', () => {
  const head = ['connection', 'table', 'counter rows (keys)', 'update rows', 'queued inserts', 'in flight', 'dead letters', 'oldest']
  const rows = [
    ['default', 'activity_log_with_a_rather_long_name', '120 (340)', 5, 17, 0, 2, '7d'],
    ['analytics', 'ユーザー行動ログ', '0 (0)', 0, 0, 1, 0, '1h5m'],
  ]

  it('never draws a line wider than the width, from 200 down to 30 columns', () => {
    for (let width = 200; width >= 30; width--) {
      const lines = renderTable(head, rows, true, {width}).split('\n')
      expect(widest(lines), `width ${width}`).toBeLessThanOrEqual(width)
    }
  })

  it('keeps every column and value whole when there is room, cuts values before dropping columns', () => {
    expect(renderTable(head, rows, true, {width: 200})).toContain('activity_log_with_a_rather_long_name')
    const at80 = renderTable(head, rows, true, {width: 80})
    for (const value of ['default', 'analytics', '120 (340)', '1h5m', '7d']) expect(at80).toContain(value)
    expect(at80).toContain('activity_lo…')
    expect(at80).toContain('│ connection')
    expect(at80).toContain('│ oldest')
    expect(at80).not.toContain('too narrow')
    const at40 = renderTable(head, rows, true, {width: 40})
    expect(at40).toContain('(too narrow to show:')
    expect(at40).toContain('oldest')
  })

  it('leaves plain columns for scripts whole, however wide', () => {
    const plain = renderTable(head, rows, false, {width: 40}).split('\n')
    expect(plain[1]).toMatch(/^default\s+activity_log_with_a_rather_long_name\s+120 \(340\)\s+5\s+17\s+0\s+2\s+7d$/)
    expect(plain[2]).toMatch(/^analytics\s+ユーザー行動ログ\s+/)
    // Aligned by display width: the column after a wide-character value starts where the others do.
    expect(stringWidth(plain[2].slice(0, plain[2].indexOf('0 (0)')))).toBe(plain[1].indexOf('120 (340)'))
  })
})

const up = driversUp.redis && terminalAvailable

/** The built CLI on a real pseudo-terminal: nothing it prints is wider than the terminal. */
describe.skipIf(!up)('wbc on an 80×24 terminal', () => {
  const prefix = uniquePrefix()
  const posts = `${prefix}_posts_with_a_long_table_name`
  const log = `${prefix}_log`
  let db: TestDb
  let wb: WriteBuffer
  let cwd: string

  beforeAll(async () => {
    db = await openTestDb('sqlite')
    await createPostsTable(db, posts, 5)
    await createLogTable(db, log)
    cwd = mkdtempSync(join(tmpdir(), 'wbc-width-'))
    const config = {ipc: {driver: 'redis', redis: urls.redis, prefix}, connections: {default: db.url}}
    writeFileSync(join(cwd, 'wbc.config.json'), JSON.stringify(config))
    wb = await openEngine(config as never)
    // A counter for a row that does not exist becomes a dead letter with the database's long reason.
    await wb.table(posts).where(999).increment('views', 5)
    await wb.table(log).insert({user_id: 1, action: 'x'.repeat(30), seq: 1})
    await wb.table(log).insert({user_id: 2, action: 'a', seq: 2})
    expect((await runCli(['flush', '--table', posts], {cwd})).code).toBe(5)
    for (let id = 1; id <= 5; id++) await wb.table(posts).where(id).increment('views', id)
  })
  afterAll(async () => {
    await wb?.close()
    await db?.cleanup()
    await cleanRedisPrefix(prefix)
  })

  it.each([[['status']], [['deadletter', 'list']], [['pending']], [['locks']], [['streams']]])('%j draws nothing wider than 80 columns', async (args) => {
    const {code, lines} = await runInTerminal(args, {cwd, columns: 80})
    expect(code, lines.join('\n')).toBe(0)
    expect(lines.length).toBeGreaterThan(0)
    expect(widest(lines), lines.join('\n')).toBeLessThanOrEqual(80)
  })

  it('flush --dry-run draws its table within 80 columns (the statements it prints are shown whole)', async () => {
    const {code, lines} = await runInTerminal(['flush', '--dry-run'], {cwd, columns: 80})
    expect(code, lines.join('\n')).toBe(0)
    const table = lines.filter((line) => /^[┌│├└]/.test(line))
    expect(table.length).toBeGreaterThan(3)
    expect(widest(table), lines.join('\n')).toBeLessThanOrEqual(80)
  })

  it('status shows every column at 80 columns, the long table name cut, and its whole name at 160', async () => {
    const narrow = (await runInTerminal(['status'], {cwd, columns: 80})).lines.join('\n')
    expect(narrow).toContain('┌')
    expect(narrow).not.toContain('too narrow')
    expect(narrow).toContain('oldest')
    expect(narrow).not.toContain(posts)
    const wide = (await runInTerminal(['status'], {cwd, columns: 160})).lines.join('\n')
    expect(wide).toContain(posts)
    expect(widest(wide.split('\n'))).toBeLessThanOrEqual(160)
  })

  it('piped, deadletter list keeps the whole reason for scripts', async () => {
    const piped = await runCli(['deadletter', 'list'], {cwd})
    expect(piped.code).toBe(0)
    expect(piped.stdout).toContain(posts)
  })
})
