import {open} from 'lmdb'
import {afterAll, describe, expect, it} from 'vitest'

import {openTestDb, type TestDb} from '../../support/db.js'
import {engineConfig, openEngine} from '../../support/engine.js'
import {uniquePrefix} from '../../support/services.js'

/**
 * A checkpoint is a file anyone with access can write. Restore used to bring back every key under
 * `{prefix}:wbc:` as it found it — a lease that blocked every flush, cached bases and batch deltas
 * that changed totals, a fence that was not a number — and to trust `if:` entries: one without
 * counters stopped the application from starting, one whose inner id named another batch replaced
 * that batch (its deltas lost). Each is now set aside and named; the rest restores and flushes.
 */
describe('hostile entries in a memory-driver checkpoint', () => {
  let db: TestDb
  afterAll(() => db?.cleanup())

  it('are set aside and named; the application starts, totals are exact, the real batch is applied once', async () => {
    db = await openTestDb('sqlite')
    await db.knex.schema.createTable('own_keys', (t) => {
      t.integer('id').primary()
      t.integer('n')
    })
    db.created.push('own_keys')
    await db.knex('own_keys').insert([
      {id: 1, n: 100},
      {id: 2, n: 0},
    ])
    const prefix = uniquePrefix()
    const config = engineConfig('memory', db.url, prefix)
    const file = open({path: config.buffer!.checkpointPath!, compression: true})
    const hostile: Record<string, unknown> = {
      'wbc:lock:flush': {type: 'string', value: '1'},
      'wbc:b:default:own_keys:1:n': {type: 'string', value: 5},
      'wbc:ifd:X': {type: 'hash', value: {'default:own_keys:1:n': 1000}},
      'wbc:idx:inflight': {type: 'set', value: ['X']},
      'wbc:lock:flush:fence': {type: 'string', value: 'abc'},
      'wbc:stats:default:own_keys': {type: 'hash', value: {writes: 'many'}},
      'if:C': {id: 'C', table: 'default:own_keys', createdAt: 1, counters: [5], updates: [], inserts: []},
      'if:Z': {id: 'B', table: 'default:own_keys', createdAt: 1, counters: [['default:own_keys:2:n', 1]], updates: [], inserts: []},
    }
    for (const [rest, value] of Object.entries(hostile)) await file.put(`${prefix}:${rest}`, value)
    // No parts at all: restored as an empty batch (it used to stop the application from starting).
    await file.put(`${prefix}:if:A`, {id: 'A', table: 'default:own_keys'})
    await file.put(`${prefix}:if:B`, {id: 'B', table: 'default:own_keys', createdAt: 1, counters: [['default:own_keys:1:n', 7]], updates: [], inserts: []})
    await file.put(`${prefix}:c:default:own_keys:1:n`, {delta: 1, base: 0})
    await file.put(`${prefix}:wbc:gen:default:own_keys`, {type: 'string', value: 3})
    await file.close()

    const wb = await openEngine(config)
    try {
      for (const rest of ['lock:flush', 'b:default:own_keys:1:n', 'ifd:X', 'lock:flush:fence', 'stats:default:own_keys', 'if:C', 'if:Z']) {
        expect([rest, await wb.ipc.type(`${prefix}:${rest}`)]).toEqual([rest, 'none'])
      }
      expect((await wb.ipc.smembers(`${prefix}:idx:inflight`)).sort()).toEqual(['A', 'B'])
      expect(await wb.ipc.get(`${prefix}:gen:default:own_keys`)).toBe(3)
      const bad = Object.fromEntries(Object.entries((await wb.ipc.hgetall(`${prefix}:idx:bad`)) ?? {}).map(([k, v]) => [k, v as {reason: string}]))
      expect(Object.keys(bad).sort()).toEqual(Object.keys(hostile).sort())
      for (const value of Object.values(bad)) expect(value.reason).toMatch(/^checkpoint entry: /)
      expect(bad['wbc:lock:flush'].reason).toContain('"lock:flush" is not a key wbc keeps in a checkpoint')
      expect(bad['if:Z'].reason).toContain('its id "B" is not the id it is kept under')

      expect(await wb.table('own_keys').where(1).get('n')).toBe(108)
      const report = await wb.flush()
      expect(report.status).toBe('ok')
      expect(await db.knex('own_keys').select().orderBy('id')).toEqual([
        {id: 1, n: 108},
        {id: 2, n: 0},
      ])
      expect(await wb.ipc.smembers(`${prefix}:idx:inflight`)).toEqual([])
      expect(await wb.table('own_keys').where(1).get('n')).toBe(108)
    } finally {
      await wb.close()
    }
    // Set aside in the file under {prefix}:bad:, never restored again.
    const after = open({path: config.buffer!.checkpointPath!, compression: true})
    for (const rest of Object.keys(hostile)) expect(after.get(`${prefix}:bad:${rest}`)).toEqual(hostile[rest])
    // Keys wbc never keeps stay out; the fence and stats are wbc's own again, as the flush left them.
    for (const rest of ['wbc:lock:flush', 'wbc:b:default:own_keys:1:n', 'wbc:ifd:X', 'wbc:idx:inflight', 'if:A', 'if:B', 'if:C', 'if:Z']) expect(after.get(`${prefix}:${rest}`)).toBeUndefined()
    expect(after.get(`${prefix}:wbc:lock:flush:fence`)).toEqual({type: 'string', value: 2}) // the flush, then close's final flush
    expect(after.get(`${prefix}:wbc:stats:default:own_keys`)).toEqual({type: 'hash', value: {flushed: 2}})
    await after.close()
  })
})
