import {describe, expect, it} from 'vitest'

import type {Entry} from '../../../src/core/buffer/entries.js'
import {applyEntries, planAhead, type EntriesPlan} from '../../../src/core/sql/apply.js'
import {forgetTableInfo, tableInfo} from '../../../src/core/sql/table-info.js'
import {dialectsUp, openTestDb, type DialectName, type TestDb} from '../../support/db.js'
import {uniquePrefix} from '../../support/services.js'

/**
 * The flush plans a batch's statements while the batch before it is in its transaction
 * (planAhead), with the table's info as cached. A plan is used only for the very entries it was
 * made for and only while that info is still the cached one: otherwise the transaction plans
 * again. The tests spoil a plan's SQL, so that using it when it must not be used fails.
 */
const counters = (n: number): Entry[] => Array.from({length: n}, (_, i) => ({kind: 'counter', members: [], where: {id: String(i + 1)}, deltas: {views: i + 1}}))
const spoiled = (plan: EntriesPlan): EntriesPlan => ({
  ...plan,
  statements: {...plan.statements, updates: plan.statements.updates.map((s) => ({...s, sql: 'SELECT no_such_column FROM no_such_table'}))},
})

describe.each(['sqlite', 'postgres', 'mysql'] as DialectName[])('planAhead (%s)', (dialect) => {
  it.skipIf(!dialectsUp[dialect])('plans only from cached info, and a plan is used only while it holds', async () => {
    const db: TestDb = await openTestDb(dialect)
    const table = `${uniquePrefix()}_plan`
    db.created.push(table)
    try {
      await db.knex.schema.createTable(table, (t) => {
        t.integer('id').primary()
        t.integer('views').notNullable().defaultTo(0)
      })
      await db.knex(table).insert([{id: 1}, {id: 2}, {id: 3}])
      const entries = counters(3)
      const apply = (list: Entry[], plan?: EntriesPlan) => db.knex.transaction((trx) => applyEntries(trx, db.dialect, table, list, 1000, db.knex, {plan}))
      const views = async () => (await db.knex(table).select('views').orderBy('id')).map((r: {views: number}) => Number(r.views))

      forgetTableInfo(db.knex, table)
      expect(await planAhead(db.knex, db.dialect, table, entries, 1000), 'nothing cached: nothing planned (and nothing read)').toBeUndefined()

      await tableInfo(db.knex, db.dialect, table)
      const plan = await planAhead(db.knex, db.dialect, table, entries, 1000)
      expect(plan?.statements.updates.length).toBe(1)
      await apply(entries, plan)
      expect(await views()).toEqual([1, 2, 3])

      // The plan is the one that runs: spoiled, the transaction fails.
      await expect(apply(entries, spoiled(plan!))).rejects.toThrow()
      expect(await views()).toEqual([1, 2, 3])

      // Other entries (a part of the batch, say) are planned in the transaction.
      await tableInfo(db.knex, db.dialect, table)
      const fresh = (await planAhead(db.knex, db.dialect, table, entries, 1000))!
      await apply(entries.slice(0, 2), spoiled(fresh))
      expect(await views()).toEqual([2, 4, 3])

      // The table's info was read again since the plan was made (a failed statement forgets it):
      // the plan is stale and the transaction plans again.
      forgetTableInfo(db.knex, table)
      await tableInfo(db.knex, db.dialect, table)
      await apply(entries, spoiled(fresh))
      expect(await views()).toEqual([3, 6, 6])
    } finally {
      await db.cleanup()
    }
  })
})
