import {describe, expect, it} from 'vitest'

import {entriesOf} from '../../../src/core/buffer/entries.js'
import {CorruptValue} from '../../../src/core/errors.js'
import type {StoredBatch} from '../../../src/core/buffer/steps/index.js'

/**
 * entriesOf turns a stored batch into the entries the SQL applies: one counter entry per row with
 * every column's summed delta, rows in where order. Counter members of the batch's own table are
 * split by position; any other spelling goes through parseMember, with the same answers.
 */
const batch = (counters: Array<[string, number]>, table = 'default:posts'): StoredBatch => ({id: 'b1', table, createdAt: 1, counters, updates: [], inserts: []})

describe('entriesOf: counters', () => {
  it('sums per row and column, rows in where order, columns named like Object properties kept as own columns', () => {
    const entries = entriesOf(
      batch([
        ['default:posts:2:views', 1],
        ['default:posts:1:__proto__', 2],
        ['default:posts:1:constructor', 3],
        ['default:posts:1:toString', 4],
        ['default:posts:1:__proto__', 5],
        ['default:posts:10:views', 6],
        ['default:posts:{"id":3,"tenant":"a:b"}:views', 7],
      ]),
      'id',
    )
    expect(entries.map((e) => (e.kind === 'counter' ? [e.where, e.members.length] : null))).toEqual([
      [{id: '1'}, 4],
      [{id: '10'}, 1],
      [{id: '2'}, 1],
      [{id: 3, tenant: 'a:b'}, 1],
    ])
    const first = entries[0]
    if (first.kind !== 'counter') throw new Error('not a counter')
    expect(Object.getPrototypeOf(first.deltas)).toBe(Object.prototype)
    expect(Object.keys(first.deltas).sort()).toEqual(['__proto__', 'constructor', 'toString'])
    expect(Object.getOwnPropertyDescriptor(first.deltas, '__proto__')?.value).toBe(7)
    expect(first.deltas.constructor).toBe(3)
    expect(first.deltas.toString).toBe(4)
  })

  it('a member of another table, or of none, parses the long way', () => {
    const entries = entriesOf(batch([['other:t:5:n', 1]]), 'id')
    expect(entries).toEqual([{kind: 'counter', members: ['other:t:5:n'], where: {id: '5'}, deltas: {n: 1}}])
    expect(() => entriesOf(batch([['default:posts:1:views', 1]], 'not a table'), 'id')).not.toThrow()
  })

  it.each([
    ['default:posts:views', 'no where'],
    ['default:posts::views', 'an empty where'],
    ['default:posts:1:', 'no column'],
    ['default:posts:1:bad-name', 'a column that is not a name'],
    [`default:posts:1:${'x'.repeat(64)}`, 'a column name too long'],
    ['default:posts:{"id":1}}:views', 'a where that is not JSON'],
  ])('%s (%s) is refused with CorruptValue', (member) => {
    expect(() => entriesOf(batch([[member, 1]]), 'id')).toThrow(CorruptValue)
  })
})
