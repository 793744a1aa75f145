import {mkdtempSync, readdirSync, readFileSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {z} from 'zod'

import {commandOutputs, commandSchema} from '../../src/cli/output-schemas/commands.js'
import {errorOutput} from '../../src/cli/output-schemas/parts.js'
import {renderSchemas, schemaFileName, SCHEMAS_DIR} from '../../src/cli/output-schemas/generate.js'
import type {WriteBuffer} from '../../src/core/buffer/write-buffer.js'
import {flagRollback} from '../../src/core/buffer/rollback.js'
import {FENCE_TABLE} from '../../src/core/sql/ledger.js'
import {runCli, startCli, type CliResult} from '../support/cli.js'
import {createLogTable, createPostsTable, openTestDb, type TestDb} from '../support/db.js'
import {cleanRedisPrefix, driversUp, openEngine} from '../support/engine.js'
import {uniquePrefix, urls} from '../support/services.js'

const root = join(import.meta.dirname, '..', '..')
const manifest = JSON.parse(readFileSync(join(root, 'oclif.manifest.json'), 'utf8')) as {commands: Record<string, {flags: Record<string, unknown>}>}
const UPDATE = 'Run `npm run schemas` and commit docs/schemas/ (see docs/json-output.md).'

/** The published file of a command, read back as a validator: what scripts rely on is what is checked. */
const published = new Map<string, z.ZodType>()
function publishedSchema(id: string): z.ZodType {
  let schema = published.get(id)
  if (!schema) {
    schema = z.fromJSONSchema(JSON.parse(readFileSync(join(root, SCHEMAS_DIR, schemaFileName(id)), 'utf8')))
    published.set(id, schema)
  }
  return schema
}

const issuesOf = (result: {success: boolean; error?: z.ZodError}) => (result.success ? '' : z.prettifyError(result.error!))

/** Which shapes each command's real output took (title, exit code), to check every one was seen. */
const seen = new Map<string, Set<string>>()

/** Validates one JSON document a command printed against its zod schema and its published file; returns it with the shape it matched. */
function validate(id: string, text: string, exitCode: number): {doc: Record<string, unknown>; shape: string} {
  let doc: Record<string, unknown>
  try {
    doc = JSON.parse(text)
  } catch {
    throw new Error(`wbc ${id} --json (exit ${exitCode}) printed no JSON document:\n${text}`)
  }
  const shapes = [...commandOutputs[id], errorOutput]
  const matched = shapes.find((s) => s.safeParse(doc).success)
  if (!matched) {
    const why = shapes.map((s) => `- ${String(z.globalRegistry.get(s)?.title)}:\n${issuesOf(s.safeParse(doc))}`).join('\n')
    throw new Error(
      `wbc ${id} --json (exit ${exitCode}) printed a document its schema does not describe (a new or changed field? update src/cli/output-schemas/ and ${UPDATE}):\n${JSON.stringify(doc, null, 2).slice(0, 3000)}\n${why}`,
    )
  }
  const viaFile = publishedSchema(id).safeParse(doc)
  expect(viaFile.success, `docs/schemas/${schemaFileName(id)} rejects it: ${issuesOf(viaFile)}`).toBe(true)
  expect(commandSchema(id).safeParse(doc).success).toBe(true)
  const shape = String(z.globalRegistry.get(matched)?.title)
  if (shape === 'error') expect((doc.error as {exitCode: number}).exitCode).toBe(exitCode)
  const titles = seen.get(id) ?? new Set()
  titles.add(`${shape} (exit ${exitCode})`)
  seen.set(id, titles)
  return {doc, shape}
}

describe('published JSON Schemas (docs/schemas)', () => {
  it('are exactly what the zod schemas in src/cli/output-schemas render (no drift)', () => {
    const files = renderSchemas()
    const onDisk = readdirSync(join(root, SCHEMAS_DIR)).filter((name) => name.endsWith('.schema.json'))
    expect(onDisk.sort(), UPDATE).toEqual([...files.keys()].sort())
    for (const [name, text] of files) expect(readFileSync(join(root, SCHEMAS_DIR, name), 'utf8'), `${SCHEMAS_DIR}/${name} differs. ${UPDATE}`).toBe(text)
  })

  it('describe every object strictly (additionalProperties: false), so a new field is a schema change', () => {
    // The only open objects: settings the configuration passes through as given (ioredis options, a knex config).
    const open = new Set(['config: config.ipc.redis', 'config: config.connections.*'])
    const loose: string[] = []
    const walk = (node: unknown, path: string, file: string) => {
      if (Array.isArray(node)) return node.forEach((item) => walk(item, path, file))
      if (!node || typeof node !== 'object') return
      const schema = node as Record<string, unknown>
      if (schema.type === 'object' && schema.properties && schema.additionalProperties !== false && !open.has(`${file}: ${path}`)) loose.push(`${file}: ${path}`)
      for (const [key, child] of Object.entries(schema)) {
        if (key === 'properties') for (const [name, prop] of Object.entries(child as object)) walk(prop, path ? `${path}.${name}` : name, file)
        else if (key === 'additionalProperties') walk(child, `${path}.*`, file)
        else walk(child, path, file)
      }
    }
    for (const [name, text] of renderSchemas()) walk(JSON.parse(text), '', name.replace('.schema.json', ''))
    expect(loose).toEqual([])
  })

  it('are each listed in docs/json-output.md, and never imported by a command (start-up time)', () => {
    const page = readFileSync(join(root, 'docs', 'json-output.md'), 'utf8')
    for (const name of renderSchemas().keys()) expect(page, `docs/json-output.md does not list ${name}`).toContain(`(schemas/${name})`)
    const sources = readdirSync(join(root, 'src'), {recursive: true, encoding: 'utf8'}).filter((file) => /\.tsx?$/.test(file) && !file.startsWith(join('cli', 'output-schemas')))
    expect(sources.filter((file) => /from '[^']*output-schemas\//.test(readFileSync(join(root, 'src', file), 'utf8')))).toEqual([])
  })

  it('cover every command that has --json, and only those', () => {
    const withJson = Object.entries(manifest.commands)
      .filter(([, command]) => 'json' in command.flags)
      .map(([id]) => id.replaceAll(':', ' '))
    expect(Object.keys(commandOutputs).sort(), 'a command gained or lost --json: add or remove its schema in src/cli/output-schemas/commands.ts').toEqual(withJson.sort())
  })
})

/**
 * Every command run with --json against real state (Redis driver + SQLite; the memory driver for
 * checkpoint and demo), its output checked against its schema: strict objects, so a field a command
 * starts to print fails here until the schema (and docs/schemas) describe it.
 */
describe.skipIf(!driversUp.redis)('real --json output matches the published schemas', () => {
  const prefix = uniquePrefix('wbjs')
  const posts = `${prefix}_posts`
  const log = `${prefix}_log`
  let db: TestDb
  let wb: WriteBuffer
  let cwd: string
  const run = async (id: string, args: string[], options: {config?: string; expectCode?: number} = {}) => {
    const result: CliResult = await runCli([...id.split(' '), ...args, '--json', ...(options.config ? ['--config', options.config] : [])], {cwd})
    if (options.expectCode !== undefined) expect(result.code, `wbc ${id} ${args.join(' ')}: ${result.stdout}${result.stderr}`).toBe(options.expectCode)
    return {...validate(id, result.stdout, result.code), code: result.code}
  }

  beforeAll(async () => {
    db = await openTestDb('sqlite')
    await createPostsTable(db, posts, 20)
    await createLogTable(db, log)
    cwd = mkdtempSync(join(tmpdir(), 'wbc-json-'))
    const config = {ipc: {driver: 'redis', redis: urls.redis, prefix}, connections: {default: db.url}, streams: {events: {maxCount: 500}}}
    writeFileSync(join(cwd, 'wbc.config.json'), JSON.stringify(config))
    // The same state, its database unreachable (a closed port) or its Redis unreachable.
    writeFileSync(join(cwd, 'db-down.json'), JSON.stringify({...config, connections: {default: 'postgres://postgres@127.0.0.1:1/test'}}))
    writeFileSync(join(cwd, 'redis-down.json'), JSON.stringify({...config, ipc: {...config.ipc, redis: 'redis://127.0.0.1:1', connectTimeout: 500}}))
    wb = await openEngine(config as never)
  })
  afterAll(async () => {
    await wb?.close()
    await db?.cleanup()
    await cleanRedisPrefix(prefix)
  })

  it('config, doctor, status (thresholds), pending, get and the dry-run plan', async () => {
    for (let id = 1; id <= 5; id++) await wb.table(posts).where(id).increment('views', id)
    await wb.table(posts).where(6).update({title: 'six'})
    await wb.table(log).insert([{user_id: 1, action: 'a', seq: 1}])
    await run('config', [], {expectCode: 0})
    await run('doctor', [])
    expect((await run('status', [], {expectCode: 0})).shape).toBe('status')
    expect((await run('status', ['--max-pending', '1'], {expectCode: 6})).doc.breaches).toHaveLength(1)
    expect((await run('pending', ['--limit', '2', '--show-values'], {expectCode: 0})).doc.cursor).toEqual(expect.any(String))
    await run('get', [posts, '3', 'views'], {expectCode: 0})
    expect((await run('flush', ['--dry-run'], {expectCode: 0})).shape).toBe('dry-run plan')
  })

  it('usage errors (exit 2), an unreachable Redis (exit 3), a held lease (exit 4 as a result and as an error)', async () => {
    expect((await run('status', ['--no-such-flag'], {expectCode: 2})).doc.error).toMatchObject({code: 'USAGE'})
    expect((await run('status', ['--table', 'no_such_table'], {expectCode: 2})).shape).toBe('error')
    expect((await run('deadletter show', ['nope:1'], {expectCode: 2})).shape).toBe('error')
    expect((await run('status', [], {config: 'redis-down.json', expectCode: 3})).doc.error).toMatchObject({code: 'SERVICE_UNAVAILABLE'})
    expect((await run('doctor', [], {config: 'redis-down.json', expectCode: 3})).doc.ok).toBe(false)

    const lease = await wb.ipc.lock(`${prefix}:lock:flush`, 60)
    try {
      expect((await run('flush', [], {expectCode: 4})).shape).toBe('lease held')
      expect((await run('locks', [], {expectCode: 0})).doc.locks).toHaveLength(1)
      expect((await run('locks release', ['flush', '--yes'], {expectCode: 4})).doc.error).toMatchObject({code: 'LEASE_HELD'})
      expect((await run('locks release', ['flush', '--force', '--yes'], {expectCode: 0})).doc.released).toBe(true)
    } finally {
      if (lease) await wb.ipc.unlock(`${prefix}:lock:flush`, lease.token).catch(() => {})
    }
  })

  it('flush: an outage (exit 3, `unreachable`), a partial flush with a dead letter (exit 5), a clean one (exit 0)', async () => {
    const down = await run('flush', [], {config: 'db-down.json', expectCode: 3})
    expect(down.shape).toBe('flush report')
    expect(down.doc.unreachable).toEqual([{connection: 'default', error: expect.any(String)}])
    // user_id is NOT NULL: the database refuses the row, which becomes a dead letter.
    await wb.table(log).insert([{user_id: null, action: 'refused', seq: 2}] as never)
    expect((await run('flush', [], {expectCode: 5})).doc.status).toBe('partial')
    expect((await run('flush', [], {expectCode: 0})).doc.status).toBe('ok')
  })

  it('dead letters: list, show, retry, drop', async () => {
    const list = await run('deadletter list', [], {expectCode: 0})
    const [letter] = list.doc.deadLetters as Array<{id: string}>
    await run('deadletter show', [letter.id], {expectCode: 0})
    expect((await run('deadletter retry', ['--id', letter.id], {expectCode: 0})).doc.retried).toBe(1)
    await run('flush', [], {expectCode: 5})
    expect((await run('deadletter drop', ['--all', '--yes'], {expectCode: 0})).doc.dropped).toBe(1)
  })

  it('streams: list, a page, a followed entry (NDJSON), compaction', async () => {
    expect((await run('streams', [], {expectCode: 0})).doc.streams).not.toHaveLength(0)
    await run('streams tail', ['events', '--limit', '2'], {expectCode: 0})
    const follow = startCli(['streams', 'tail', 'events', '--limit', '1', '--follow', '--json'], {cwd})
    let out = ''
    follow.child.stdout!.on('data', (chunk) => (out += chunk))
    for (let waited = 0; !out.includes('\n') && waited < 15_000; waited += 100) await new Promise((resolve) => setTimeout(resolve, 100))
    follow.child.kill('SIGINT')
    const ended = await follow.exit
    const lines = ended.stdout.split('\n').filter(Boolean)
    expect(lines.length).toBeGreaterThan(0)
    for (const line of lines) expect(validate('streams tail', line, ended.code).shape).toBe('one followed entry')
    await run('compact', ['events', '--max-count', '1', '--dry-run'], {expectCode: 0})
    await run('compact', ['events', '--max-count', '100'], {expectCode: 0})
  })

  it('recover: dry run and run; a rollback found (status and --after-rollback --dry-run exit 7), then resumed', async () => {
    await run('recover', ['--dry-run'], {expectCode: 0})
    expect((await run('recover', [], {expectCode: 0})).shape).toBe('recovery')
    await flagRollback(wb.ipc, prefix, {at: Date.now(), connection: 'default', reason: 'test', storeFence: 1, databaseFence: 2, storeEpoch: null, databaseEpoch: null})
    expect((await run('status', [], {expectCode: 7})).doc.rollback).toMatchObject({reason: 'test'})
    expect((await run('recover', ['--after-rollback', '--dry-run'], {expectCode: 7})).shape).toBe('after rollback')
    expect((await run('recover', ['--after-rollback', '--yes'], {expectCode: 0})).doc.resynced).not.toBeNull()
  })

  it('checkpoint on a running memory-driver application, the export, and recover --checkpoint', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'wbc-json-mem-'))
    const memPrefix = `${prefix}m`
    const config = {
      ipc: {driver: 'memory', prefix: memPrefix, socket: join(dir, 'wbc.sock')},
      connections: {default: db.url},
      buffer: {flushInterval: 60_000, checkpointPath: join(dir, 'checkpoint.lmdb')},
    }
    const file = join(dir, 'wbc.config.json')
    writeFileSync(file, JSON.stringify(config))
    const app = await openEngine(config as never, {serveSocket: true})
    try {
      for (let id = 1; id <= 3; id++) await app.table(posts).where(id).increment('likes', 1)
      await run('checkpoint', [], {config: file, expectCode: 0})
      const backup = join(dir, 'backup.lmdb')
      expect((await run('checkpoint', ['--out', backup], {config: file, expectCode: 0})).doc.meta).toMatchObject({format: 1})
      expect((await run('recover', ['--checkpoint', backup, '--dry-run'], {config: file, expectCode: 0})).doc.backup).toMatchObject({verdict: 'current'})
      expect((await run('recover', ['--checkpoint', backup], {config: file, expectCode: 0})).doc.report).toMatchObject({status: 'ok'})
    } finally {
      await app.close()
      await db
        .knex(FENCE_TABLE)
        .where({name: memPrefix})
        .delete()
        .catch(() => {})
    }
  })

  it('demo (memory driver, its own SQLite file)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'wbc-json-demo-'))
    const result = await runCli(['demo', '--seconds', '1', '--rate', '50', '--json'], {cwd: dir})
    expect(result.code, result.stderr).toBe(0)
    validate('demo', result.stdout, result.code)
  })

  it('every command with --json was checked, in every shape its schema names', () => {
    const expected = Object.fromEntries(Object.entries(commandOutputs).map(([id, shapes]) => [id, shapes.map((s) => String(z.globalRegistry.get(s)?.title)).sort()]))
    const got = Object.fromEntries(
      Object.keys(commandOutputs).map((id) => [id, [...new Set([...(seen.get(id) ?? [])].map((t) => t.replace(/ \(exit \d+\)$/, '')).filter((t) => t !== 'error'))].sort()]),
    )
    expect(got).toEqual(expected)
    const errorExits = new Set([...seen.values()].flatMap((titles) => [...titles].filter((t) => t.startsWith('error')).map((t) => t.match(/exit (\d+)/)![1])))
    expect([...errorExits].sort()).toEqual(['2', '3', '4'])
  })
})
