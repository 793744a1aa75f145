import {describe, expect, it} from 'vitest'

import {describeRefusal, formatRefusal, parseRefusalText} from '../../../src/core/sql/refusal.js'
import {dialectsUp, openTestDb, type DialectName} from '../../support/db.js'
import {uniquePrefix} from '../../support/services.js'

/** The error each database gives for a refused insert, through knex as the flusher sees it. */
async function refused(dialect: DialectName, values: string, quotedName = false) {
  const db = await openTestDb(dialect)
  const table = quotedName ? `${uniquePrefix()} - odd 'name'` : `${uniquePrefix()}_refusal`
  const q = dialect === 'mysql' ? (name: string) => `\`${name}\`` : (name: string) => `"${name}"`
  try {
    await db.knex.raw(`create table ${q(table)} (id int primary key, v int not null, note varchar(50), constraint ${q(`${table.slice(0, 20)}_vpos`)} check (v > 0))`)
    db.created.push(table)
    try {
      await db.knex.raw(`insert into ${q(table)} (id, v, note) values ${values}`)
    } catch (error) {
      return {error, table, constraint: `${table.slice(0, 20)}_vpos`}
    }
    throw new Error('not refused')
  } finally {
    await db.cleanup()
  }
}

describe.each(['postgres', 'mysql', 'sqlite'] as const)('refusals on %s', (dialect) => {
  it.skipIf(!dialectsUp[dialect])('a CHECK violation: code, constraint, the message alone and the statement apart', async () => {
    const {error, constraint} = await refused(dialect, `(1, -1, 'a - b')`)
    const {refusal, statement} = describeRefusal(error, dialect)
    expect(refusal.code).toBe({postgres: '23514', mysql: '4025', sqlite: 'SQLITE_CONSTRAINT_CHECK'}[dialect])
    expect(refusal.constraint).toBe(constraint)
    expect(refusal.message).not.toMatch(/insert into/i)
    expect(statement).toMatch(/^insert into .* values \(1, -1, 'a - b'\)$/i)
    // The text stored and parsed again gives the same parts.
    expect(parseRefusalText(`${refusal.code}: ${statement} - ${refusal.message}`)).toEqual({refusal: {code: refusal.code, constraint, message: refusal.message}, statement})
    expect(formatRefusal(refusal)).toBe(`${refusal.code} (${constraint}): ${refusal.message}`)
  })

  it.skipIf(!dialectsUp[dialect])('a duplicate key in a table whose name has " - " and quotes', async () => {
    const {error, table} = await refused(dialect, `(1, 1, 'x'), (1, 2, 'y')`, true)
    const {refusal, statement} = describeRefusal(error, dialect)
    expect(refusal.code).toBe({postgres: '23505', mysql: '1062 ER_DUP_ENTRY', sqlite: 'SQLITE_CONSTRAINT_PRIMARYKEY'}[dialect])
    expect(statement).toContain(table)
    expect(refusal.message).toMatch(/duplicate|UNIQUE/i)
    expect(refusal.message).not.toMatch(/insert into/i)
  })
})

describe('stored texts', () => {
  it('a text that is no knex error stays the message, without code', () => {
    expect(parseRefusalText('no row matches this key (an UPDATE would change nothing)')).toEqual({
      refusal: {code: null, constraint: null, message: 'no row matches this key (an UPDATE would change nothing)'},
      statement: null,
    })
  })
})
