import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {RESTORED_ERROR} from '../../../src/core/buffer/dead-letters.js'
import type {WriteBuffer} from '../../../src/core/buffer/write-buffer.js'
import type {WbcConfigInput} from '../../../src/core/config/schema.js'
import {LEDGER_TABLE, ledgerRanges} from '../../../src/core/sql/ledger.js'
import {createPostsTable, dialectsUp, openTestDb, type DialectName, type TestDb} from '../../support/db.js'
import {cleanRedisPrefix, driversUp, engineConfig, openEngine, type DriverName, redisEngineFor} from '../../support/engine.js'
import {uniquePrefix} from '../../support/services.js'
import {sleep, startFixture} from '../../support/spawn.js'

const views = async (db: TestDb, table: string, id: number) => Number((await db.knex(table).where({id}).first('views'))?.views)

/**
 * Dead letters and the ledger agree whatever crashes: the ledger records `dead` before the dead
 * letter is written, recovery writes a missing one, and a retry never applies an entry twice.
 */
describe.each(['postgres', 'mysql', 'sqlite'] as DialectName[])('dead letters on redis + %s', (dialect) => {
  const up = driversUp.redis && dialectsUp[dialect]
  const prefix = uniquePrefix()
  let db: TestDb
  let config: WbcConfigInput
  let wb: WriteBuffer
  let round = 0
  const table = async () => {
    const name = `${prefix}_d${++round}`
    await createPostsTable(db, name, 3)
    return name
  }
  const flushInChild = (failpoint: string) => startFixture('flush-once.ts', {WBC_TEST_CONFIG: JSON.stringify(config), WBC_FAILPOINT: failpoint, LEASE_TTL_MS: '1000'})

  redisEngineFor(dialect, up, prefix, (opened) => ({db, config, wb} = opened))

  it.skipIf(!up)('a flusher killed after recording `dead`, before writing the dead letter: recovery writes it and never applies the entry', async () => {
    const posts = await table()
    await wb.table(posts).where(99).increment('views', 7) // no row 99 yet: dead-lettered
    await wb.table(posts).where(1).increment('views', 2)
    const result = await flushInChild('after-dead-ledger').exit
    expect(result.signal).toBe('SIGKILL')
    const inflight = await wb.ipc.smembers(`${prefix}:idx:inflight`)
    expect(inflight).toHaveLength(1)
    const [batchId] = inflight
    // Entries sort by row key: "1" (index 0) applied, "99" (index 1) recorded dead — and no dead letter yet.
    expect((await ledgerRanges(db.knex, batchId)).sort((a, b) => a.lo - b.lo)).toEqual([
      {lo: 0, hi: 1, outcome: 'applied'},
      {lo: 1, hi: 2, outcome: 'dead'},
    ])
    expect(await wb.deadLetters.list('default', posts)).toEqual([])
    // The missing row appears before anyone recovers: the dead entry must still not be applied by recovery.
    await db.knex(posts).insert({id: 99, views: 0, likes: 0})
    await sleep(1100) // The dead holder's lease runs out.
    const report = await wb.flush()
    expect(report.tables).toEqual([expect.objectContaining({table: posts, recovered: 1, counters: 0, deadLettered: 1})])
    expect(await views(db, posts, 99)).toBe(0)
    expect(await views(db, posts, 1)).toBe(2)
    const letters = await wb.deadLetters.list('default', posts)
    expect(letters).toEqual([expect.objectContaining({id: `${batchId}:1`, kind: 'counter', error: RESTORED_ERROR, entry: {where: {id: '99'}, deltas: {views: 7}}})])
    expect(await wb.ipc.scard(`${prefix}:idx:inflight`)).toBe(0)
    // The operator retries it: applied once, however often retry and flush run.
    expect(await wb.deadLetters.retry('default', posts, [])).toEqual({retried: [`${batchId}:1`], alreadyApplied: [], inFlight: []})
    expect(await wb.deadLetters.retry('default', posts, [])).toEqual({retried: [], alreadyApplied: [], inFlight: []})
    await wb.flush()
    await wb.flush()
    expect(await views(db, posts, 99)).toBe(7)
    expect(await wb.deadLetters.list('default', posts)).toEqual([])
  })

  it.skipIf(!up)('a dead letter whose entry the ledger shows applied is removed by retry, not applied a second time', async () => {
    const posts = await table()
    await wb.table(posts).where(98).increment('views', 7)
    await wb.flush()
    const [letter] = await wb.deadLetters.list('default', posts)
    const [batchId, index] = [letter.id.slice(0, letter.id.lastIndexOf(':')), Number(letter.id.slice(letter.id.lastIndexOf(':') + 1))]
    // What a flusher of an earlier version left after a crash between the dead letter and the
    // ledger: recovery found no ledger row, applied the entry (the row existed by then) and recorded it.
    await db.knex(posts).insert({id: 98, views: 7, likes: 0})
    await db.knex(LEDGER_TABLE).where({batch_id: batchId}).delete()
    await db.knex(LEDGER_TABLE).insert({batch_id: batchId, lo: index, hi: index + 1, outcome: 'applied', applied_at: Date.now()})
    expect(await wb.deadLetters.retry('default', posts, [letter.id])).toEqual({retried: [], alreadyApplied: [letter.id], inFlight: []})
    expect(await wb.deadLetters.list('default', posts)).toEqual([])
    await wb.flush()
    expect(await views(db, posts, 98)).toBe(7)
  })

  it.skipIf(!up)('a dead letter whose batch is still in flight is not retried until that batch is finished', async () => {
    const posts = await table()
    await wb.table(posts).where(97).increment('views', 5)
    await wb.table(posts).where(2).increment('views', 1)
    // Dead-lettered and committed, then killed before the acknowledgement: the batch stays in flight.
    expect((await flushInChild('after-commit').exit).signal).toBe('SIGKILL')
    const [letter] = await wb.deadLetters.list('default', posts)
    expect(letter).toMatchObject({kind: 'counter', entry: {where: {id: '97'}, deltas: {views: 5}}})
    expect(await wb.deadLetters.retry('default', posts, [letter.id])).toEqual({retried: [], alreadyApplied: [], inFlight: [letter.id]})
    await db.knex(posts).insert({id: 97, views: 0, likes: 0})
    await sleep(1100)
    const report = await wb.flush()
    expect(report.tables).toEqual([expect.objectContaining({table: posts, recovered: 1, counters: 0, deadLettered: 0})])
    // Finished: the same one dead letter (not written twice), now retriable.
    expect((await wb.deadLetters.list('default', posts)).map((l) => l.id)).toEqual([letter.id])
    expect(await wb.deadLetters.retry('default', posts, [letter.id])).toEqual({retried: [letter.id], alreadyApplied: [], inFlight: []})
    await wb.flush()
    expect(await views(db, posts, 97)).toBe(5)
    expect(await views(db, posts, 2)).toBe(1)
  })
})

describe.each([
  ['redis', 'postgres'],
  ['redis', 'mysql'],
  ['redis', 'sqlite'],
  ['memory', 'sqlite'],
  ['memory', 'postgres'],
] as Array<[DriverName, DialectName]>)('retrying a dead-lettered update on %s + %s', (driver, dialect) => {
  const up = driversUp[driver] && dialectsUp[dialect]
  const prefix = uniquePrefix()
  let db: TestDb
  let wb: WriteBuffer

  beforeAll(async () => {
    if (!up) return
    db = await openTestDb(dialect)
    wb = await openEngine(engineConfig(driver, db.url, prefix))
  })
  afterAll(async () => {
    if (!up) return
    await wb?.close()
    await db?.cleanup()
    if (driver === 'redis') await cleanRedisPrefix(prefix)
  })

  it.skipIf(!up)('keeps the columns written after it (pending newer values win) and adds the others', async () => {
    const posts = `${prefix}_u`
    await createPostsTable(db, posts, 3)
    await wb.table(posts).where(96).update({title: 'old title', last_ip: '10.0.0.1'})
    await wb.flush()
    const [letter] = await wb.deadLetters.list('default', posts)
    expect(letter).toMatchObject({kind: 'update', entry: {where: {id: '96'}, fields: {title: 'old title', last_ip: '10.0.0.1'}}})
    await db.knex(posts).insert({id: 96, views: 0, likes: 0})
    await wb.table(posts).where(96).update({title: 'new title'}) // written after the dead letter, still pending
    expect((await wb.deadLetters.retry('default', posts, [letter.id])).retried).toEqual([letter.id])
    await wb.flush()
    expect(await db.knex(posts).where({id: 96}).first('title', 'last_ip')).toEqual({title: 'new title', last_ip: '10.0.0.1'})
  })
})
