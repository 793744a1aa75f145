import {describe, expect, it} from 'vitest'

import {runChaos} from '../../chaos/harness.js'
import {dialectsUp} from '../support/db.js'
import {driversUp} from '../support/engine.js'
import {urls} from '../support/services.js'

/**
 * The randomized fault run in short, with a fixed seed: writers, timed and CLI flushers, SIGKILL
 * at failpoints and at random, terminated DB connections, a killed and restarted Redis, flushers
 * paused past their lease and forced lease releases. Nothing acknowledged may be lost, nothing
 * applied twice, nothing left behind. (`npm run chaos` is the long version.)
 */
const combos = [
  {driver: 'redis', dialect: 'postgres'},
  {driver: 'redis', dialect: 'mysql'},
  {driver: 'memory', dialect: 'postgres'},
  {driver: 'memory', dialect: 'mysql'},
] as const

describe('chaos (fixed seed, short)', () => {
  for (const {driver, dialect} of combos) {
    const up = driversUp[driver] && dialectsUp[dialect]
    it.skipIf(!up)(`${driver} + ${dialect}: lost=0 duplicated=0 wrong=0`, {timeout: 240_000}, async () => {
      const result = await runChaos({driver, dialect, seconds: 12, seed: 20261122, postgresUrl: urls.postgres, mysqlUrl: urls.mysql})
      const summary = {lost: result.lost, duplicated: result.duplicated, wrong: result.wrong, differences: result.differences, left: result.left}
      expect(summary).toEqual({lost: 0, duplicated: 0, wrong: 0, differences: [], left: {pending: 0, inflight: 0, deadLetters: 0}})
      // The run did real work under real faults.
      expect(result.acknowledged).toBeGreaterThan(1000)
      expect(Object.values(result.faults).reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(5)
    })
  }

  it.skipIf(!(driversUp.redis && dialectsUp.postgres))('redis + postgres: a Redis restarted from an older snapshot is reported, never applied again', {timeout: 240_000}, async () => {
    const result = await runChaos({driver: 'redis', dialect: 'postgres', seconds: 9, seed: 20261201, postgresUrl: urls.postgres, mysqlUrl: urls.mysql, rollback: true})
    // Flushing refuses with the rollback's exit code, and status says so too; nothing was applied
    // twice. (Writes acknowledged after the snapshot are gone with it: lost, or an older title.)
    expect({flush: result.rollback?.flushExit, status: result.rollback?.statusExit, duplicated: result.duplicated}, result.differences.join('\n')).toEqual({flush: 7, status: 7, duplicated: 0})
    expect(result.rollback?.flushError).toMatch(/STORE_ROLLED_BACK|rolled back|older/i)
    expect(result.acknowledged).toBeGreaterThan(500)
  })
})
