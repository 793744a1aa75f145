import {mkdtempSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import knexFactory from 'knex'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {verify} from '../../chaos/verify.js'
import type {LogEntry} from '../../chaos/writer-loop.js'

/** The chaos verdict must catch each kind of difference (a checker that cannot fail proves nothing). */
describe('chaos verify', () => {
  const dir = mkdtempSync(join(tmpdir(), 'wbc-verify-'))
  const knex = knexFactory({client: 'better-sqlite3', connection: {filename: join(dir, 'db.sqlite')}, useNullAsDefault: true})
  const logFile = join(dir, 'writer.log')
  const entries: LogEntry[] = [
    {k: 'i', id: 1, d: 3, r: 'ok'},
    {k: 'i', id: 1, d: 2, r: '?'},
    {k: 'i', id: 2, d: 4, r: 'ok'},
    {k: 'i', id: 2, d: 9, r: 'no'},
    {k: 'u', id: 1, v: 'a', r: 'ok'},
    {k: 'u', id: 1, v: 'b', r: '?'},
    {k: 'u', id: 2, v: 'c', r: 'ok'},
    {k: 'n', u: 0, s: 1, r: 'ok'},
    {k: 'n', u: 0, s: 2, r: '?'},
    {k: 'n', u: 0, s: 3, r: 'ok', o: 1},
    {k: 'p', s: 1, c: 'AT', d: 2, r: 'ok'},
    {k: 'p', s: 1, c: 'AT', d: 5, r: '?'},
  ]

  beforeAll(async () => {
    writeFileSync(logFile, entries.map((e) => JSON.stringify(e)).join('\n') + '\n')
    await knex.schema.createTable('posts', (t) => {
      t.integer('id').primary()
      t.integer('views')
      t.string('title')
    })
    await knex.schema.createTable('activity', (t) => {
      t.increments('id')
      t.integer('user_id')
      t.string('action').notNullable().defaultTo('dflt')
      t.integer('seq')
    })
    await knex.schema.createTable('pairs', (t) => {
      t.integer('shop')
      t.specificType('code', 'char(3)')
      t.integer('hits')
    })
  })
  afterAll(() => knex.destroy())

  async function state(posts: Array<[number, number, string | null]>, activity: Array<[number, number, string?]>, pairs: Array<[number, string, number]> = [[1, 'AT', 2]]) {
    await knex('posts').del()
    await knex('activity').del()
    await knex('pairs').del()
    await knex('posts').insert(posts.map(([id, views, title]) => ({id, views, title})))
    if (activity.length) await knex('activity').insert(activity.map(([user_id, seq, action]) => ({user_id, seq, action: action ?? (seq === 3 ? 'dflt' : 'chaos')})))
    await knex('pairs').insert(pairs.map(([shop, code, hits]) => ({shop, code, hits})))
    return verify(knex, 'posts', 'activity', [logFile])
  }

  it('accepts exact results, with or without the writes whose outcome was unknown', async () => {
    for (const db of [
      await state(
        [
          [1, 3, 'a'],
          [2, 4, 'c'],
          [3, 0, null],
        ],
        [
          [0, 1],
          [0, 3],
        ],
      ),
      await state(
        [
          [1, 5, 'b'],
          [2, 4, 'c'],
          [3, 0, null],
        ],
        [
          [0, 1],
          [0, 2],
          [0, 3],
        ],
        [[1, 'AT ', 7]],
      ),
    ]) {
      expect(db).toEqual({ops: 12, acknowledged: 7, ambiguous: 4, lost: 0, duplicated: 0, wrong: 0, differences: []})
    }
  })

  it('names lost, duplicated and wrong writes', async () => {
    const v = await state(
      [
        [1, 2, 'a'],
        [2, 13, 'x'],
        [3, 1, 'z'],
      ],
      [
        [0, 2],
        [0, 2],
        [7, 7],
        [0, 3, 'chaos'],
      ],
      [
        [1, 'AT', 8],
        [2, 'A', 1],
      ],
    )
    expect(v.differences).toEqual([
      'lost: posts id 1: views 2, acknowledged increments add up to 3',
      'duplicated: posts id 2: views 13, at most 4 was written',
      'wrong: posts id 2: title x, expected c',
      'duplicated: posts id 3: views 1, at most 0 was written',
      'wrong: posts id 3: title z was never written',
      'duplicated: pairs 1|AT: hits 8, at most 7 was written',
      'duplicated: pairs 2|A: hits 1, at most 0 was written',
      'wrong: activity row 0:3: action chaos, expected dflt',
      'duplicated: activity row 0:2 is there 2 times',
      'wrong: activity row 7:7 was never written',
      'lost: activity row 0:1 is missing',
    ])
    expect({lost: v.lost, duplicated: v.duplicated, wrong: v.wrong}).toEqual({lost: 2, duplicated: 5, wrong: 4})
  })
})
