import {describe, expect, it} from 'vitest'

import type {Entry} from '../../../../src/core/buffer/entries.js'
import {deadMembers, overlaps, pendingRanges, refusalOf, split} from '../../../../src/core/buffer/flush/ranges.js'
import {RowsNotFound} from '../../../../src/core/sql/apply.js'
import type {LedgerRange} from '../../../../src/core/sql/ledger.js'

const applied = (lo: number, hi: number): LedgerRange => ({lo, hi, outcome: 'applied'})
const dead = (lo: number, hi: number): LedgerRange => ({lo, hi, outcome: 'dead'})
const counter = (...members: string[]): Entry => ({kind: 'counter', members, where: {id: 1}, deltas: {n: 1}})
const update: Entry = {kind: 'update', member: 'db:t:1', where: {id: 1}, fields: {name: 'a'}}
const insert: Entry = {kind: 'insert', row: {id: 2}}

describe('split', () => {
  it('halves a range when no bad entry is known (null or none listed)', () => {
    expect(split({lo: 0, hi: 4}, null)).toEqual([
      {lo: 0, hi: 2},
      {lo: 2, hi: 4},
    ])
    expect(split({lo: 0, hi: 4}, [])).toEqual([
      {lo: 0, hi: 2},
      {lo: 2, hi: 4},
    ])
  })

  it('puts the extra entry of an odd range in the second half, offsets kept', () => {
    expect(split({lo: 3, hi: 6}, null)).toEqual([
      {lo: 3, hi: 4},
      {lo: 4, hi: 6},
    ])
    expect(split({lo: 0, hi: 2}, null)).toEqual([
      {lo: 0, hi: 1},
      {lo: 1, hi: 2},
    ])
  })

  it('halves a range of one into an empty range and itself (why the applier dead-letters single entries before splitting)', () => {
    expect(split({lo: 5, hi: 6}, null)).toEqual([
      {lo: 5, hi: 5},
      {lo: 5, hi: 6},
    ])
  })

  it('isolates a bad entry in the middle, keeping the good runs around it whole', () => {
    expect(split({lo: 0, hi: 5}, [2])).toEqual([
      {lo: 0, hi: 2},
      {lo: 2, hi: 3},
      {lo: 3, hi: 5},
    ])
  })

  it('isolates bad entries at both ends without empty ranges', () => {
    expect(split({lo: 10, hi: 15}, [10, 14])).toEqual([
      {lo: 10, hi: 11},
      {lo: 11, hi: 14},
      {lo: 14, hi: 15},
    ])
  })

  it('gives adjacent bad entries one range each', () => {
    expect(split({lo: 0, hi: 4}, [1, 2])).toEqual([
      {lo: 0, hi: 1},
      {lo: 1, hi: 2},
      {lo: 2, hi: 3},
      {lo: 3, hi: 4},
    ])
  })

  it('turns a range whose every entry is bad into single entries, and a bad range of one into itself', () => {
    expect(split({lo: 0, hi: 3}, [0, 1, 2])).toEqual([
      {lo: 0, hi: 1},
      {lo: 1, hi: 2},
      {lo: 2, hi: 3},
    ])
    expect(split({lo: 7, hi: 8}, [7])).toEqual([{lo: 7, hi: 8}])
  })
})

describe('pendingRanges', () => {
  it('has nothing to apply in an empty batch', () => {
    expect(pendingRanges(0, [])).toEqual([])
  })

  it('applies a whole batch the ledger has no row of, even one of one entry', () => {
    expect(pendingRanges(3, [])).toEqual([{lo: 0, hi: 3}])
    expect(pendingRanges(1, [])).toEqual([{lo: 0, hi: 1}])
  })

  it('has nothing left when the ledger covers the batch', () => {
    expect(pendingRanges(5, [applied(0, 5)])).toEqual([])
    expect(pendingRanges(1, [dead(0, 1)])).toEqual([])
  })

  it('leaves the gaps before, between and after the recorded ranges', () => {
    expect(pendingRanges(5, [applied(1, 3)])).toEqual([
      {lo: 0, hi: 1},
      {lo: 3, hi: 5},
    ])
    expect(pendingRanges(6, [applied(0, 1), dead(5, 6)])).toEqual([{lo: 1, hi: 5}])
  })

  it('counts dead ranges as done: a dead-lettered entry is never applied again', () => {
    expect(pendingRanges(4, [dead(1, 2)])).toEqual([
      {lo: 0, hi: 1},
      {lo: 2, hi: 4},
    ])
  })

  it('reads ledger rows in any order', () => {
    expect(pendingRanges(10, [applied(6, 8), applied(0, 2)])).toEqual([
      {lo: 2, hi: 6},
      {lo: 8, hi: 10},
    ])
  })

  it('merges overlapping and nested ledger ranges instead of applying their overlap again', () => {
    expect(pendingRanges(10, [applied(0, 4), applied(2, 6)])).toEqual([{lo: 6, hi: 10}])
    expect(pendingRanges(10, [applied(0, 8), dead(2, 3)])).toEqual([{lo: 8, hi: 10}])
    expect(pendingRanges(10, [applied(3, 5), applied(1, 9)])).toEqual([
      {lo: 0, hi: 1},
      {lo: 9, hi: 10},
    ])
  })

  it('does not reorder the ledger rows it is given', () => {
    const done = [applied(6, 8), applied(0, 2)]
    pendingRanges(10, done)
    expect(done).toEqual([applied(6, 8), applied(0, 2)])
  })
})

describe('overlaps', () => {
  it('is false against an empty ledger', () => {
    expect(overlaps({lo: 0, hi: 2}, [])).toBe(false)
  })

  it('is false for ranges that only touch (the ends are exclusive)', () => {
    expect(overlaps({lo: 0, hi: 2}, [applied(2, 4)])).toBe(false)
    expect(overlaps({lo: 2, hi: 4}, [applied(0, 2)])).toBe(false)
  })

  it('is true when one entry is shared, whichever range contains the other, dead ones included', () => {
    expect(overlaps({lo: 1, hi: 3}, [applied(2, 4)])).toBe(true)
    expect(overlaps({lo: 0, hi: 10}, [applied(4, 5)])).toBe(true)
    expect(overlaps({lo: 4, hi: 5}, [applied(0, 10)])).toBe(true)
    expect(overlaps({lo: 0, hi: 1}, [dead(0, 1)])).toBe(true)
  })

  it('looks at every ledger row, not only the first', () => {
    expect(overlaps({lo: 5, hi: 6}, [applied(0, 1), applied(2, 3), dead(5, 7)])).toBe(true)
    expect(overlaps({lo: 4, hi: 5}, [applied(0, 1), applied(2, 3), dead(5, 7)])).toBe(false)
  })
})

describe('deadMembers', () => {
  it('is empty without ledger rows, and with applied rows only', () => {
    expect(deadMembers([], [])).toEqual([])
    expect(deadMembers([counter('a'), counter('b')], [applied(0, 2)])).toEqual([])
  })

  it('lists every counter member of the entries in dead ranges, in ledger order', () => {
    const entries = [counter('db:t:1:n'), counter('db:t:2:n', 'db:t:2:m'), counter('db:t:3:n'), counter('db:t:4:n')]
    expect(deadMembers(entries, [dead(3, 4), applied(0, 1), dead(1, 3)])).toEqual(['db:t:4:n', 'db:t:2:n', 'db:t:2:m', 'db:t:3:n'])
  })

  it('skips updates and inserts in a dead range (they have no cached base)', () => {
    expect(deadMembers([update, counter('db:t:1:n'), insert], [dead(0, 3)])).toEqual(['db:t:1:n'])
  })

  it('ignores the part of a ledger range past the end of the entries', () => {
    expect(deadMembers([counter('db:t:1:n')], [dead(0, 5)])).toEqual(['db:t:1:n'])
    expect(deadMembers([counter('db:t:1:n')], [dead(1, 2)])).toEqual([])
  })
})

describe('refusalOf', () => {
  it('says a missing row is why an update changed nothing, with no statement', () => {
    expect(refusalOf(new RowsNotFound([0]), 'postgres')).toEqual({
      reason: {code: null, constraint: null, message: 'no row matches this key (an UPDATE would change nothing)'},
      statement: null,
    })
  })

  it("keeps the database's reason and sets the statement apart", () => {
    const mysql = Object.assign(new Error("insert into `t` (`a`) values (1) - Duplicate entry '1' for key 'PRIMARY'"), {
      sqlMessage: "Duplicate entry '1' for key 'PRIMARY'",
      errno: 1062,
      code: 'ER_DUP_ENTRY',
    })
    expect(refusalOf(mysql, 'mysql')).toEqual({
      reason: {code: '1062 ER_DUP_ENTRY', constraint: 'PRIMARY', message: "Duplicate entry '1' for key 'PRIMARY'"},
      statement: 'insert into `t` (`a`) values (1)',
    })
    const postgres = Object.assign(new Error('insert into "t" ("id", "v") values ($1, $2) - new row for relation "t" violates check constraint "t_vpos"'), {
      code: '23514',
      constraint: 't_vpos',
      detail: 'Failing row contains (1, -1).',
    })
    expect(refusalOf(postgres, 'postgres')).toEqual({
      reason: {code: '23514', constraint: 't_vpos', message: 'new row for relation "t" violates check constraint "t_vpos"', detail: 'Failing row contains (1, -1).'},
      statement: 'insert into "t" ("id", "v") values ($1, $2)',
    })
  })

  it('takes an error without statement or code as a bare message', () => {
    expect(refusalOf(new Error('boom'), 'sqlite')).toEqual({reason: {code: null, constraint: null, message: 'boom'}, statement: null})
  })
})
