import {describe, expect, it} from 'vitest'

import type {WhereObject} from '../../../src/core/buffer/keys.js'
import type {Dialect} from '../../../src/core/config/connections.js'
import {cannotShareRows} from '../../../src/core/sql/same-row.js'
import type {KeyRule, TableInfo} from '../../../src/core/sql/table-info.js'

/**
 * `cannotShareRows` decides whether a batch skips the aggregation per target row: it must answer
 * false whenever two keys can reach one row (a wrong true loses writes); a false for keys that are
 * in fact distinct only costs speed.
 */

const info = (keyRules: Record<string, KeyRule>, types: Record<string, string> = {}): TableInfo => ({types, uniqueKeys: [], keyRules})
const ids = (...values: Array<string | number | boolean | null>): WhereObject[] => values.map((id) => ({id}))

describe('cannotShareRows', () => {
  const cases: Array<{
    dialect: Dialect
    rule: KeyRule
    type?: string
    shared: Array<Array<string | number | boolean>>
    distinct: Array<Array<string | number | boolean | null>>
    undecided?: Array<string | number | boolean>
  }> = [
    {
      dialect: 'postgres',
      rule: 'integer',
      shared: [
        [1, '1'],
        ['1', ' 1 '],
        ['01', '1'],
        ['+1', 1],
        [1, '1.0'],
        ['-0', 0],
      ],
      distinct: [
        [1, 2, '3', '-3'],
        ['9007199254740993', '9007199254740992'],
      ],
      undecided: ['1.5', 'abc', true, ''],
    },
    {
      dialect: 'postgres',
      rule: 'decimal',
      shared: [
        ['1.10', 1.1],
        ['1e1', 10],
        ['0.5', '.5'],
        ['-0.0', 0],
      ],
      distinct: [['1.1', '1.2', '1.11']],
      undecided: ['NaN', 'Infinity', true],
    },
    {
      dialect: 'postgres',
      rule: 'text',
      shared: [
        [1, '1'],
        [true, 'true'],
        ['\uD800', '\uD801'],
      ],
      distinct: [['a', 'A', 'a ', ' a', "o'neil", 'x\ny']],
    },
    {
      dialect: 'postgres',
      rule: 'bpchar',
      shared: [
        ['AB', 'AB  '],
        ['', ' '],
      ],
      distinct: [['AB', 'ab', ' AB', 'AB\t']],
    },
    {
      dialect: 'postgres',
      rule: 'uuid',
      shared: [['6f1c5a4e-0000-4000-8000-000000000002', '6F1C5A4E-0000-4000-8000-000000000002', '{6f1c5a4e000040008000000000000002}']],
      distinct: [['6f1c5a4e-0000-4000-8000-000000000002', '6f1c5a4e-0000-4000-8000-000000000003']],
      undecided: ['6f1c5a4e', 'zz'],
    },
    {dialect: 'postgres', rule: 'boolean', shared: [], distinct: [[true, false]], undecided: ['t', 'true', 1]},
    {dialect: 'postgres', rule: 'date', shared: [], distinct: [['2024-01-02', '2024-01-03']], undecided: ['2024-1-2', 'today', '20240102']},
    {
      dialect: 'mysql',
      rule: 'bound',
      type: 'SIGNED',
      shared: [
        ['1', 1],
        ['1.0', 1],
        [' 1 ', '+1'],
        ['1e0', 1],
      ],
      distinct: [
        ['1', '2', -1],
        ['1.5', '1.5'],
        [1, '99999999999999999999'],
      ],
      undecided: [true],
    },
    {
      dialect: 'mysql',
      rule: 'bound',
      type: 'DECIMAL(10,2)',
      shared: [
        ['1.1', '1.10'],
        [2, '2.00'],
      ],
      distinct: [['1.1', '1.2', '1.005']],
    },
    {
      dialect: 'sqlite',
      rule: 'sqlite',
      shared: [
        [1, '1'],
        ['1.0', 1],
        [' 1', '1'],
        ['Bob', 'bob'],
        ['a', 'a  '],
        [true, 1],
        [false, '0'],
      ],
      distinct: [
        ['a', 'b', ' a', 'é', 'É'],
        [true, false, 2],
      ],
      undecided: ['x1', 'inf', '0x1g', '0x1', '1.00000000000000011102230246251566', '1234567890123456', '1e23'],
    },
  ]

  for (const c of cases) {
    const rules = info({id: c.rule}, c.type ? {id: c.type} : {})
    it(`${c.dialect} ${c.rule}${c.type ? ` ${c.type}` : ''}: spellings of one value share a row, others do not`, () => {
      for (const values of c.shared) expect(cannotShareRows(c.dialect, ['id'], ids(...values), rules), JSON.stringify(values)).toBe(false)
      for (const values of c.distinct) expect(cannotShareRows(c.dialect, ['id'], ids(...values), rules), JSON.stringify(values)).toBe(true)
      for (const value of c.undecided ?? []) expect(cannotShareRows(c.dialect, ['id'], ids(value), rules), JSON.stringify(value)).toBe(false)
    })
  }

  it('a column without a rule is never judged (case-insensitive collations, citext, MySQL strings)', () => {
    expect(cannotShareRows('postgres', ['id'], ids('a'), info({}))).toBe(false)
    expect(cannotShareRows('mysql', ['name'], [{name: 'bob'}], info({id: 'bound'}, {id: 'SIGNED'}))).toBe(false)
  })

  it('composite keys share a row only when every part does; a NULL part reaches no row', () => {
    const rules = info({a: 'integer', b: 'text'})
    expect(
      cannotShareRows(
        'postgres',
        ['a', 'b'],
        [
          {a: 1, b: 'x'},
          {a: '1', b: 'x'},
        ],
        rules,
      ),
    ).toBe(false)
    expect(
      cannotShareRows(
        'postgres',
        ['a', 'b'],
        [
          {a: 1, b: 'x'},
          {a: 1, b: 'y'},
          {a: 2, b: 'x'},
        ],
        rules,
      ),
    ).toBe(true)
    // Parts that would collide if joined as text: ["1","2"] vs ["12"] are different tuples.
    expect(
      cannotShareRows(
        'postgres',
        ['a', 'b'],
        [
          {a: 1, b: '2,x'},
          {a: '1,2', b: 'x'},
        ],
        info({a: 'text', b: 'text'}),
      ),
    ).toBe(true)
    expect(
      cannotShareRows(
        'postgres',
        ['a', 'b'],
        [
          {a: null, b: 'x'},
          {a: null, b: 'x'},
        ],
        rules,
      ),
    ).toBe(true)
  })
})
