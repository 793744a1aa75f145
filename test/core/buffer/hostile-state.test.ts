import fc from 'fast-check'
import {Redis} from 'ioredis'
import {open} from 'lmdb'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import type {WriteBuffer} from '../../../src/core/buffer/write-buffer.js'
import {scanBadKeys} from '../../../src/core/inspect/bad-keys.js'
import {readStatus} from '../../../src/core/inspect/status.js'
import {createLogTable, dialectsUp, openTestDb, type DialectName, type TestDb} from '../../support/db.js'
import {cleanRedisPrefix, driversUp, engineConfig, openEngine, type DriverName} from '../../support/engine.js'
import {uniquePrefix, urls} from '../../support/services.js'

/**
 * Hostile names and values written straight into the state (raw Redis commands, the memory
 * driver's Ipc, a checkpoint file read at start), next to good writes of the same tables. A flush
 * must never run a statement with an unchecked name: every row the good writes do not touch stays
 * exactly as it was (the `sentinel` and `role` columns prove no injected statement ran), every bad
 * key is quarantined with its reason (exactly those keys in idx:bad), the good keys flush with exact
 * totals, and the doctor scan names every bad key beforehand.
 */
const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/
const hostileName = fc
  .oneof(
    fc.constantFrom('id", "role") WHERE 1=1 --', "name' OR '1'='1", 'role; DROP TABLE x', 'a b', 'naïve', '名前', '😀', 'id\u0000', '"', '`id`', '[id]', 'id--', '1id', 'x'.repeat(64), ''),
    fc.string({unit: fc.constantFrom('"', "'", ';', ' ', '-', '\\', '`', '(', ')', '=', '*', ',', '$', '\n', '\t', 'é', '名', '😀', '\u202e', 'a', '_', '1'), minLength: 1, maxLength: 30}),
  )
  .filter((name) => !IDENTIFIER.test(name))
const names = [...new Set(fc.sample(hostileName, {seed: 4242, numRuns: 12}))]
const colonFree = names.filter((name) => !name.includes(':') && name !== '')

const cases = (['sqlite', 'postgres', 'mysql'] as DialectName[]).flatMap((dialect) => (['redis', 'memory'] as DriverName[]).map((driver) => ({dialect, driver})))

const ROWS = 10
const original = Array.from({length: ROWS}, (_, i) => ({id: i + 1, name: `n${i + 1}`, role: 'member', views: 0, bio: null as string | null, sentinel: 'intact'}))

async function createAccounts(db: TestDb, table: string): Promise<void> {
  await db.knex.schema.dropTableIfExists(table)
  await db.knex.schema.createTable(table, (t) => {
    t.integer('id').primary()
    t.string('name', 200)
    t.string('role', 200)
    t.integer('views').notNullable().defaultTo(0)
    t.text('bio')
    t.string('sentinel', 40)
  })
  db.created.push(table)
  await db.knex(table).insert(original)
}

/** Seeds state the way another writer would: raw Redis commands, or the memory driver's Ipc. */
function seeder(prefix: string, wb: WriteBuffer, raw: Redis | undefined) {
  const ipc = wb.ipc
  return {
    async counter(member: string, value: number) {
      if (raw) await raw.set(`${prefix}:c:${member}`, String(value))
      else await ipc.set(`${prefix}:c:${member}`, value, 0)
      await ipc.sadd(`${prefix}:idx:counters`, member)
    },
    async update(member: string, fields: Record<string, unknown>) {
      if (raw) await raw.hset(`${prefix}:u:${member}`, Object.fromEntries(Object.entries(fields).map(([f, v]) => [f, JSON.stringify(v)])))
      else await ipc.hset(`${prefix}:u:${member}`, fields as never)
      await ipc.sadd(`${prefix}:idx:updates`, member)
    },
    async rows(table: string, rows: unknown[]) {
      if (raw) await raw.rpush(`${prefix}:q:${table}`, ...rows.map((row) => JSON.stringify(row)))
      else await ipc.rpush(`${prefix}:q:${table}`, ...(rows as never[]))
      await ipc.sadd(`${prefix}:idx:queues`, table)
    },
    async batch(id: string, batch: unknown) {
      if (raw) await raw.set(`${prefix}:if:${id}`, JSON.stringify(batch))
      else await ipc.set(`${prefix}:if:${id}`, batch as never, 0)
      await ipc.sadd(`${prefix}:idx:inflight`, id)
    },
  }
}

describe.each(cases)('hostile state on $driver + $dialect', ({dialect, driver}) => {
  const up = driversUp[driver] && dialectsUp[dialect]
  const prefix = uniquePrefix()
  const accounts = `${prefix}_acct`
  const log = `${prefix}_log`
  let db: TestDb
  let wb: WriteBuffer
  let raw: Redis | undefined

  beforeAll(async () => {
    if (!up) return
    db = await openTestDb(dialect)
    await createAccounts(db, accounts)
    await createLogTable(db, log)
    wb = await openEngine(engineConfig(driver, db.url, prefix))
    if (driver === 'redis') raw = new Redis(urls.redis)
  })
  afterAll(async () => {
    if (!up) return
    if (raw) {
      // Keys longer than the Ipc accepts are removed directly.
      for await (const keys of raw.scanStream({match: `${prefix}:*`, count: 1000})) if ((keys as string[]).length > 0) await raw.del(...(keys as string[]))
    }
    raw?.disconnect()
    await wb?.close()
    await db?.cleanup()
    if (driver === 'redis') await cleanRedisPrefix(prefix)
  })

  it.skipIf(!up)('quarantines every hostile key with its reason and flushes the good ones exactly', async () => {
    const seed = seeder(prefix, wb, raw)
    const T = `default:${accounts}`
    const L = `default:${log}`
    const huge = 'b'.repeat(50_000)

    // Good writes: through the API, and written directly in the layouts ODAC uses.
    for (let id = 1; id <= 5; id++) await wb.table(accounts).where(id).increment('views', id)
    await wb.table(accounts).where(1).update({name: 'good1'})
    await wb.table(accounts).where(2).update({name: 'good2', bio: huge})
    await seed.update(`${T}:{"id":6,"role":"member"}`, {name: 'six'})
    await seed.counter(`${T}:{"id":7}:views`, 3)
    await seed.update(`${T}:{"id":"8"}`, {views: '12'})
    await wb.table(log).insert([1, 2, 3].map((seq) => ({user_id: 1, action: 'good', seq})))

    // Hostile: where keys, where values, field names, counter columns, queued rows, batches in flight.
    const bad: Record<string, RegExp | string> = {}
    for (const name of names) {
      const member = `${T}:${JSON.stringify({[name]: 1})}`
      await seed.update(member, {role: 'admin'})
      bad[`u:${member}`] = /^where column ".*" is not a column name$/s
      await seed.counter(`${member}:views`, 100)
      bad[`c:${member}:views`] = /^where column ".*" is not a column name$/s
    }
    for (const name of colonFree) {
      await seed.counter(`${T}:3:${name}`, 100)
      bad[`c:${T}:3:${name}`] = 'the key name is not {connection}:{table}:{where}:{column}'
    }
    await seed.update(`${T}:9`, {name: 'x', ...Object.fromEntries(names.filter(Boolean).map((name) => [name, 'pwned']))})
    bad[`u:${T}:9`] = /^field ".*" is not a column name$/s
    await seed.update(`${T}:10`, {[`name" = 'pwned' --`]: 'x'})
    bad[`u:${T}:10`] = `field "name" = 'pwned' --" is not a column name`
    const wheres: Record<string, string> = {
      '{"id":{"$gt":0}}': 'where column id holds an object, not a string, a finite number or a boolean',
      '{"id":[1,2]}': 'where column id holds an array, not a string, a finite number or a boolean',
      '{"id":null}': 'where column id holds null, not a string, a finite number or a boolean',
      '{"id":1e999}': 'where column id holds a number that is not finite, not a string, a finite number or a boolean',
      '{"id":1,"id":2}': 'where column id appears twice',
      '{}': 'the where is an empty object',
      '{"id":1} OR 1=1': 'the where is not a JSON object of column values',
      '{id:1}': 'the where is not a JSON object of column values',
      '{"id":0x1}': 'the where is not a JSON object of column values',
      // Redis holds a 15 kB name; the memory driver's Ipc refuses keys over 4,096 characters.
      [JSON.stringify({['x"'.repeat(raw ? 5000 : 1000)]: 1})]: `where column "${'x\\"'.repeat(13)}x..." is not a column name`,
    }
    for (const [where, reason] of Object.entries(wheres)) {
      await seed.update(`${T}:${where}`, {role: 'admin'})
      bad[`u:${T}:${where}`] = reason
    }
    await seed.rows(L, [...names.filter(Boolean).map((name, i) => ({user_id: 1, action: 'bad', seq: 100 + i, [name]: 1})), 42, 'row', [1], {}])
    bad[`q:${L}`] = `3 queued row(s) not a JSON object; ${names.filter(Boolean).length + 1} queued row(s) without columns or with a name that is not a column name`
    await seed.batch('000-hostile-a', {id: '000-hostile-a', table: T, createdAt: 1, counters: [[`${T}:1:views`, 1000]], updates: [[`${T}:{"id\\" OR 1=1 --":1}`, {role: 'admin'}]], inserts: []})
    await seed.batch('000-hostile-b', {id: '000-hostile-b', table: T, createdAt: 1, counters: {}, updates: [[`${T}:2`, [`role" = 'admin' --`, '"x"']]], inserts: {}, encoded: true})
    await seed.batch('000-hostile-c', {id: '000-hostile-c', table: L, createdAt: 1, counters: [], updates: [], inserts: [{user_id: 1, action: 'bad', seq: 999, 'seq") VALUES (1); --': 1}]})
    await seed.batch('000-hostile-d', {id: '000-hostile-d', table: T, createdAt: 1, counters: [[`${T}:4:views" = 0 --`, 5]], updates: [], inserts: []})
    bad['if:000-hostile-a'] = /^the batch cannot be read: .*update ".*": where column "id\\" OR 1=1 --" is not a column name$/s
    bad['if:000-hostile-b'] = /^the batch cannot be read: .*update ".*:2": field "role" = 'admin' --" is not a column name$/s
    bad['if:000-hostile-c'] = /^the batch cannot be read: .*queued row 0 has the column "seq"\) VALUES \(1\); --", not a column name$/s
    bad['if:000-hostile-d'] = /^the batch cannot be read: .*counter ".*": the key name is not \{connection\}:\{table\}:\{where\}:\{column\}$/s

    // The status walk tolerates all of it; the doctor scan names every bad key.
    await readStatus(wb.ipc, prefix)
    const doctor = await scanBadKeys(wb.ipc, prefix)
    const expectedDoctor = new Set(Object.keys(bad).map((key) => `${prefix}:${key}`))
    expect(new Set(doctor.badKeys.map((b) => b.key))).toEqual(expectedDoctor)
    expect(doctor.total).toBe(expectedDoctor.size)

    // A batch whose only problem is a row, written as the memory claim writes batches: the row
    // joins the queue's bad rows, and the rest of the batch (nothing) is applied. On redis it is not
    // a batch the claim wrote (rows not kept as text): rewriting it could change its numbers, so
    // it is set aside whole.
    const hostileRow = {user_id: 1, action: 'bad', seq: 999, 'seq") VALUES (1); --': 1}
    if (driver === 'memory') delete bad['if:000-hostile-c']
    const report = await wb.flush()
    const badRows = await wb.ipc.lrange(`${prefix}:bad:q:${L}`, 0, -1)
    expect(badRows.filter((row) => JSON.stringify(row) === JSON.stringify(hostileRow))).toHaveLength(driver === 'memory' ? 1 : 0)
    expect(badRows).toHaveLength(names.filter(Boolean).length + 4 + (driver === 'memory' ? 1 : 0))
    expect(report.status).toBe('partial')
    expect(report.tables.map((t) => [t.table, t.error ?? null, t.deadLettered])).toEqual(
      expect.arrayContaining([
        [accounts, null, 0],
        [log, null, 0],
      ]),
    )
    const quarantined = Object.fromEntries(report.quarantined.map((q) => [q.key, q.reason]))
    expect(Object.keys(quarantined).sort()).toEqual(Object.keys(bad).sort())
    for (const [key, reason] of Object.entries(bad)) {
      if (typeof reason === 'string') expect(quarantined[key], key).toBe(reason)
      else expect(quarantined[key], key).toMatch(reason)
    }
    expect(Object.keys((await wb.ipc.hgetall(`${prefix}:idx:bad`)) ?? {}).sort()).toEqual(Object.keys(bad).sort())

    // Exactly the good writes landed; every other row is as it was.
    const expected = original.map((row) => ({...row}))
    for (let id = 1; id <= 5; id++) expected[id - 1].views = id
    expected[0].name = 'good1'
    expected[1].name = 'good2'
    expected[1].bio = huge
    expected[5].name = 'six'
    expected[6].views = 3
    expected[7].views = 12
    const rows = await db.knex(accounts).select('id', 'name', 'role', 'views', 'bio', 'sentinel').orderBy('id')
    expect(rows.map((row) => ({...row, views: Number(row.views)}))).toEqual(expected)
    expect((await db.knex(log).select('seq', 'action').orderBy('seq')).map((r) => `${r.action}${r.seq}`)).toEqual(['good1', 'good2', 'good3'])

    // Nothing is left pending; the next flush has nothing to trip on.
    expect((await readStatus(wb.ipc, prefix)).tables).toEqual([])
    const again = await wb.flush()
    expect(again.status).toBe('ok')
    expect(again.quarantined).toEqual([])
  })
})

describe.each(['sqlite', 'postgres'] as DialectName[])('hostile names in a memory-driver checkpoint on %s', (dialect) => {
  const up = dialectsUp[dialect]
  const prefix = uniquePrefix()
  const accounts = `${prefix}_acct`
  const log = `${prefix}_log`
  let db: TestDb

  beforeAll(async () => {
    if (!up) return
    db = await openTestDb(dialect)
    await createAccounts(db, accounts)
    await createLogTable(db, log)
  })
  afterAll(async () => {
    if (up) await db?.cleanup()
  })

  it.skipIf(!up)('what the application restores is checked like anything else: quarantined, the rest flushed', async () => {
    const config = engineConfig('memory', db.url, prefix)
    const path = (config.buffer as {checkpointPath: string}).checkpointPath
    const T = `default:${accounts}`
    const L = `default:${log}`
    const whereInjection = `${T}:{"id\\", \\"role\\") WHERE 1=1 --":1}`
    const file = open({path, compression: true})
    // Inside a transaction each put applies at once; the transaction's promise reports the commit.
    await file.transaction(() => {
      void file.put(`${prefix}:u:${whereInjection}`, {role: 'admin'})
      void file.put(`${prefix}:u:${T}:4`, {[`name" = 'pwned' FROM (SELECT $1::text, $2::text) AS z --`]: 'x'})
      void file.put(`${prefix}:u:${T}:5`, {name: 'from checkpoint'})
      void file.put(`${prefix}:c:${T}:{"id":{"a":1}}:views`, {delta: 5, base: 0})
      void file.put(`${prefix}:c:${T}:6:views`, {delta: 6, base: 0})
      void file.put(`${prefix}:q:${L}`, [
        {user_id: 1, action: 'bad', seq: 7, 'x"y': 1},
        {user_id: 1, action: 'good', seq: 8},
      ])
      void file.put(`${prefix}:if:000-ck`, {id: '000-ck', table: T, createdAt: 1, counters: [], updates: [[`${T}:{"role; --":1}`, {role: 'admin'}]], inserts: []})
    })
    await file.close()

    const wb = await openEngine(config)
    const report = await wb.flush()
    await wb.close()
    expect(report.status).toBe('partial')
    expect(Object.fromEntries(report.quarantined.map((q) => [q.key, q.reason]))).toEqual({
      [`u:${whereInjection}`]: 'where column "id\\", \\"role\\") WHERE 1=1 --" is not a column name',
      [`u:${T}:4`]: `field "name" = 'pwned' FROM (SELECT $1::text, $..." is not a column name`,
      [`c:${T}:{"id":{"a":1}}:views`]: 'where column id holds an object, not a string, a finite number or a boolean',
      [`q:${L}`]: '1 queued row(s) without columns or with a name that is not a column name',
      'if:000-ck': expect.stringMatching(/^the batch cannot be read: .*where column "role; --" is not a column name$/),
    })
    const expected = original.map((row) => ({...row}))
    expected[4].name = 'from checkpoint'
    expected[5].views = 6
    const rows = await db.knex(accounts).select('id', 'name', 'role', 'views', 'bio', 'sentinel').orderBy('id')
    expect(rows.map((row) => ({...row, views: Number(row.views)}))).toEqual(expected)
    expect((await db.knex(log).select('seq')).map((r) => r.seq)).toEqual([8])

    // The batch set aside left the checkpoint's in-flight range: a restart does not bring it back.
    const after = open({path, compression: true, readOnly: true})
    expect(after.get(`${prefix}:if:000-ck`)).toBeUndefined()
    // wbc's own keys live under `{prefix}:wbc:` in the file, as {type, value}.
    expect(after.get(`${prefix}:wbc:bad:if:000-ck`)).toMatchObject({type: 'string', value: {id: '000-ck'}})
    await after.close()
  })
})
