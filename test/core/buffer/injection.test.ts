import {Redis} from 'ioredis'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import type {WriteBuffer} from '../../../src/core/buffer/write-buffer.js'
import {scanBadKeys} from '../../../src/core/inspect/bad-keys.js'
import {dialectsUp, openTestDb, type DialectName, type TestDb} from '../../support/db.js'
import {cleanRedisPrefix, driversUp, engineConfig, openEngine, type DriverName} from '../../support/engine.js'
import {uniquePrefix, urls} from '../../support/services.js'

/**
 * The two injections of issue #12/#13, exactly as found: a composite where whose column name
 * carries SQL, and an update field name that carries SQL. Both were written straight into the
 * state (as another tool sharing the Redis, or an application doing `where(req.query)`, could).
 * Each flush must quarantine the key, flush the good key of the same table, and leave every
 * other row exactly as it was (the `sentinel` column proves no statement ran on them).
 */
const WHERE_INJECTION = '{"id\\", \\"role\\") WHERE 1=1 --":1}'
const FIELD_INJECTION = `name" = 'pwned' FROM (SELECT $1::text, $2::text) AS z --`

const cases = (['sqlite', 'postgres', 'mysql'] as DialectName[]).flatMap((dialect) => (['redis', 'memory'] as DriverName[]).map((driver) => ({dialect, driver})))

describe.each(cases)('injection through names stored in the state: $driver + $dialect', ({dialect, driver}) => {
  const up = driversUp[driver] && dialectsUp[dialect]
  const prefix = uniquePrefix()
  const users = `${prefix}_users`
  let db: TestDb
  let wb: WriteBuffer
  let raw: Redis | undefined

  const original = Array.from({length: 5}, (_, i) => ({id: i + 1, name: `user${i + 1}`, role: 'member', sentinel: 'intact'}))

  beforeAll(async () => {
    if (!up) return
    db = await openTestDb(dialect)
    await db.knex.schema.dropTableIfExists(users)
    await db.knex.schema.createTable(users, (t) => {
      t.integer('id').primary()
      t.string('name', 200)
      t.string('role', 200)
      t.string('sentinel', 40)
    })
    db.created.push(users)
    wb = await openEngine(engineConfig(driver, db.url, prefix))
    if (driver === 'redis') raw = new Redis(urls.redis)
  })
  afterAll(async () => {
    if (!up) return
    raw?.disconnect()
    await wb?.close()
    await db?.cleanup()
    if (driver === 'redis') await cleanRedisPrefix(prefix)
  })

  /** Writes an update hash (field → JSON value) and its index member, as another writer would. */
  async function seedUpdate(member: string, fields: Record<string, unknown>): Promise<void> {
    const key = `${prefix}:u:${member}`
    if (raw) {
      await raw.hset(key, Object.fromEntries(Object.entries(fields).map(([field, value]) => [field, JSON.stringify(value)])))
      await raw.sadd(`${prefix}:idx:updates`, member)
    } else {
      await wb.ipc.hset(key, fields as never)
      await wb.ipc.sadd(`${prefix}:idx:updates`, member)
    }
  }

  async function resetTable(): Promise<void> {
    await db.knex(users).del()
    await db.knex(users).insert(original)
  }

  const contents = () => db.knex(users).select('id', 'name', 'role', 'sentinel').orderBy('id')

  it.skipIf(!up)('a where whose column name carries SQL is quarantined; no row changes but the good one', async () => {
    await resetTable()
    const member = `default:${users}:${WHERE_INJECTION}`
    await seedUpdate(member, {role: 'admin'})
    await wb.table(users).where(2).update({name: 'renamed'})

    const doctor = await scanBadKeys(wb.ipc, prefix)
    expect(doctor.badKeys.map((b) => b.key)).toEqual([`${prefix}:u:${member}`])
    expect(doctor.badKeys[0].problem).toBe('where column "id\\", \\"role\\") WHERE 1=1 --" is not a column name; the next flush quarantines it')

    const report = await wb.flush()
    expect(report.status).toBe('partial')
    expect(report.quarantined).toEqual([{key: `u:${member}`, reason: 'where column "id\\", \\"role\\") WHERE 1=1 --" is not a column name'}])
    expect(await contents()).toEqual(original.map((row) => (row.id === 2 ? {...row, name: 'renamed'} : row)))
    expect(Object.keys((await wb.ipc.hgetall(`${prefix}:idx:bad`)) ?? {})).toEqual([`u:${member}`])
    expect(await wb.ipc.hgetall(`${prefix}:bad:u:${member}`)).toEqual({role: 'admin'})
    await wb.ipc.del(`${prefix}:idx:bad`, `${prefix}:bad:u:${member}`)
  })

  it.skipIf(!up)('an update field whose name carries SQL is quarantined; no row changes but the good one', async () => {
    await resetTable()
    const member = `default:${users}:1`
    await seedUpdate(member, {[FIELD_INJECTION]: 'x'})
    await wb.table(users).where(3).update({name: 'renamed'})

    const doctor = await scanBadKeys(wb.ipc, prefix)
    expect(doctor.badKeys).toEqual([{key: `${prefix}:u:${member}`, problem: `field "name" = 'pwned' FROM (SELECT $1::text, $..." is not a column name; the next flush quarantines it`}])

    const report = await wb.flush()
    expect(report.status).toBe('partial')
    expect(report.quarantined).toEqual([{key: `u:${member}`, reason: `field "name" = 'pwned' FROM (SELECT $1::text, $..." is not a column name`}])
    expect(await contents()).toEqual(original.map((row) => (row.id === 3 ? {...row, name: 'renamed'} : row)))
    expect(Object.keys((await wb.ipc.hgetall(`${prefix}:idx:bad`)) ?? {})).toEqual([`u:${member}`])
    expect(await wb.ipc.hgetall(`${prefix}:bad:u:${member}`)).toEqual({[FIELD_INJECTION]: 'x'})
    await wb.ipc.del(`${prefix}:idx:bad`, `${prefix}:bad:u:${member}`)
  })
})
