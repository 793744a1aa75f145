import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {ensureLedger, FENCE_TABLE, fenceRow, LEDGER_TABLE, pruneLedger} from '../../../src/core/sql/ledger.js'
import {dialectsUp, openTestDb, type DialectName, type TestDb} from '../../support/db.js'
import {uniquePrefix} from '../../support/services.js'

const DAY = 24 * 3600 * 1000

/**
 * Ledger rows are what keeps a batch in flight from being applied twice: pruning keeps every row
 * of a batch still in flight, whatever its age, and never touches another state's rows.
 */
describe.each(['postgres', 'mysql', 'sqlite'] as DialectName[])('the ledger on %s', (dialect) => {
  const up = dialectsUp[dialect]
  const mine = uniquePrefix()
  const theirs = uniquePrefix()
  let db: TestDb
  const ids = (stem: string) => ['inflight', 'done', 'recent'].map((what) => `${stem}-${what}`)

  beforeAll(async () => {
    if (!up) return
    db = await openTestDb(dialect)
  })
  afterAll(async () => {
    if (!up) return
    await db
      .knex(LEDGER_TABLE)
      .whereIn('batch_id', [...ids(mine), ...ids(theirs)])
      .delete()
    await db.knex(FENCE_TABLE).whereIn('name', [mine, theirs]).delete()
    await db.cleanup()
  })

  it.skipIf(!up)('prunes only this state’s old rows of batches no longer in flight', async () => {
    await ensureLedger(db.knex, mine)
    const now = Date.now()
    for (const prefix of [mine, theirs]) {
      const [inflight, done, recent] = ids(prefix)
      await db.knex(LEDGER_TABLE).insert([
        {batch_id: inflight, lo: 0, hi: 5, outcome: 'applied', applied_at: now - 30 * DAY, prefix},
        {batch_id: done, lo: 0, hi: 5, outcome: 'applied', applied_at: now - 30 * DAY, prefix},
        {batch_id: recent, lo: 0, hi: 5, outcome: 'applied', applied_at: now - DAY, prefix},
      ])
    }
    await pruneLedger(db.knex, mine, [`${mine}-inflight`])
    const left = (
      await db
        .knex(LEDGER_TABLE)
        .whereIn('batch_id', [...ids(mine), ...ids(theirs)])
        .select('batch_id')
    )
      .map((r) => r.batch_id)
      .sort()
    expect(left).toEqual([`${mine}-inflight`, `${mine}-recent`, ...ids(theirs)].sort())
  })

  it.skipIf(!up)('records the lease token and epoch with the fence', async () => {
    await ensureLedger(db.knex, mine)
    const {checkFence, FencedOut} = await import('../../../src/core/sql/ledger.js')
    await db.knex.transaction((trx) => checkFence(trx, mine, {fence: 3, token: 'a', epoch: 'e1', mark: 0}))
    expect(await fenceRow(db.knex, mine)).toMatchObject({fence: 3, holder: 'a', epoch: 'e1'})
    await db.knex.transaction((trx) => checkFence(trx, mine, {fence: 3, token: 'a', epoch: 'e1', mark: 0})) // same holder again
    // The same fence under another lease, an older fence, another epoch: all refused.
    for (const committer of [
      {fence: 3, token: 'b', epoch: 'e1', mark: 0},
      {fence: 2, token: 'c', epoch: 'e1', mark: 0},
      {fence: 4, token: 'd', epoch: 'e2', mark: 0},
    ]) {
      await expect(db.knex.transaction((trx) => checkFence(trx, mine, committer))).rejects.toBeInstanceOf(FencedOut)
    }
    await db.knex.transaction((trx) => checkFence(trx, mine, {fence: 4, token: 'd', epoch: 'e1', mark: 0}))
    expect(await fenceRow(db.knex, mine)).toMatchObject({fence: 4, holder: 'd', epoch: 'e1', mark: 4, seq: 3})
  })

  it.skipIf(!up)('records the highest claim mark; a later lease not past it is refused (the store issued it before that claim)', async () => {
    const name = `${mine}m`
    await ensureLedger(db.knex, name)
    const {checkFence, FencedOut} = await import('../../../src/core/sql/ledger.js')
    try {
      // Lease 5 claims two batches: the counter reads 6, then 7 after each claim.
      await db.knex.transaction((trx) => checkFence(trx, name, {fence: 5, token: 'a', epoch: 'e1', mark: 7}))
      await db.knex.transaction((trx) => checkFence(trx, name, {fence: 5, token: 'a', epoch: 'e1', mark: 7})) // its own batch again (a split range)
      // The same holder with a lower mark: its store's counter went back (a snapshot restored
      // while the lease lived on) — the claim behind it may hold deltas already applied.
      await expect(db.knex.transaction((trx) => checkFence(trx, name, {fence: 5, token: 'a', epoch: 'e1', mark: 6}))).rejects.toBeInstanceOf(FencedOut)
      expect(await fenceRow(db.knex, name)).toMatchObject({fence: 5, holder: 'a', mark: 7})
      // A store restored from a snapshot taken during that flush issues 6 or 7 again to another lease.
      for (const fence of [6, 7]) {
        await expect(db.knex.transaction((trx) => checkFence(trx, name, {fence, token: `r${fence}`, epoch: 'e1', mark: 0}))).rejects.toBeInstanceOf(FencedOut)
      }
      await db.knex.transaction((trx) => checkFence(trx, name, {fence: 8, token: 'b', epoch: 'e1', mark: 0}))
      expect(await fenceRow(db.knex, name)).toMatchObject({fence: 8, holder: 'b', mark: 8})
    } finally {
      await db.knex(FENCE_TABLE).where({name}).delete()
    }
  })
})

describe('ledger tables created by an earlier version', () => {
  let db: TestDb
  beforeAll(async () => {
    db = await openTestDb('sqlite')
  })
  afterAll(async () => {
    await db.cleanup()
  })

  it('gain the prefix, holder and epoch columns; their rows stay valid', async () => {
    await db.knex.schema.createTable(LEDGER_TABLE, (t) => {
      t.string('batch_id', 80).notNullable()
      t.integer('lo').notNullable()
      t.integer('hi').notNullable()
      t.string('outcome', 16).notNullable()
      t.bigInteger('applied_at').notNullable()
      t.primary(['batch_id', 'lo'])
    })
    await db.knex.schema.createTable(FENCE_TABLE, (t) => {
      t.string('name', 64).primary()
      t.bigInteger('fence').notNullable()
      t.bigInteger('seq').notNullable()
    })
    await db.knex(FENCE_TABLE).insert({name: 'wb', fence: 7, seq: 40})
    await ensureLedger(db.knex, 'wb')
    for (const column of ['holder', 'epoch', 'mark']) expect(await db.knex.schema.hasColumn(FENCE_TABLE, column)).toBe(true)
    expect(await db.knex.schema.hasColumn(LEDGER_TABLE, 'prefix')).toBe(true)
    expect(await fenceRow(db.knex, 'wb')).toEqual({fence: 7, holder: null, epoch: null, mark: null, seq: 40})
  })
})
