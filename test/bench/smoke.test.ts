import {execFile} from 'node:child_process'
import {mkdtempSync, readFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {promisify} from 'node:util'

import {describe, expect, it} from 'vitest'

import {dialectsUp} from '../support/db.js'
import {driversUp} from '../support/engine.js'

const run = promisify(execFile)
const up = driversUp.redis && dialectsUp.postgres && dialectsUp.mysql

/** The benchmark suite at tiny sizes, without targets: it must keep running (and checking DB totals). */
describe.skipIf(!up)('benchmark smoke run', () => {
  it('runs every scenario but the slow dashboard one at scale 0.001 and writes its results', async () => {
    const out = join(mkdtempSync(join(tmpdir(), 'wbc-bench-')), 'results.json')
    await run(
      process.execPath,
      ['--import', 'tsx', join(import.meta.dirname, '..', '..', 'bench', 'run.ts'), '--scale', '0.001', '--only', 'writes,flush,memory,reads,start,queue,inserts,touches,memoryrows', '--out', out],
      {timeout: 240_000},
    )
    const {results} = JSON.parse(readFileSync(out, 'utf8'))
    const scenarios = new Set(results.map((r: {scenario: string}) => r.scenario.split(' ')[0]))
    expect([...scenarios].sort()).toEqual(['1', '10', '11', '12', '2', '3', '4', '5', '6', '8', '9'])
    for (const r of results) expect(Number.isFinite(r.value) && r.value >= 0).toBe(true)
  }, 300_000)
})
