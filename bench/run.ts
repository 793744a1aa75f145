/**
 * The benchmark suite: every figure is a ratio against a baseline measured in the same run.
 * Measures the built code (dist/, what ships; `npm run bench` builds first).
 * Usage: npm run bench [-- --scale 0.01] [--only name,name] [--out bench/results.json]
 * Services come from the same variables as the tests (WBC_TEST_REDIS_URL, WBC_TEST_PG_URL, WBC_TEST_MYSQL_URL).
 */
import {writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {parseArgs} from 'node:util'

import {scenarios, type BenchContext, type BenchResult} from './scenarios.js'

const {values} = parseArgs({options: {scale: {type: 'string', default: '1'}, only: {type: 'string'}, out: {type: 'string', default: join(import.meta.dirname, 'results.json')}}})
const ctx: BenchContext = {
  scale: Number(values.scale),
  redis: process.env.WBC_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379',
  postgres: process.env.WBC_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test',
  mysql: process.env.WBC_TEST_MYSQL_URL ?? 'mysql://root@127.0.0.1:3306/test',
  log: (line) => process.stderr.write(`${line}\n`),
}
const only = values.only?.split(',')
const results: BenchResult[] = []
for (const [name, run] of Object.entries(scenarios)) {
  if (only && !only.includes(name)) continue
  ctx.log(`bench: ${name}…`)
  const started = Date.now()
  results.push(...(await run(ctx)))
  ctx.log(`bench: ${name} done in ${((Date.now() - started) / 1000).toFixed(1)} s`)
}
const pad = (s: string, n: number) => (s.length > n ? s.slice(0, n) : s.padEnd(n))
console.log(`${pad('scenario', 34)} ${pad('case', 34)} ${pad('value', 16)} ${pad('baseline', 24)} ratio   target`)
for (const r of results) {
  console.log(
    `${pad(r.scenario, 34)} ${pad(r.case, 34)} ${pad(`${r.value.toFixed(r.value < 10 ? 3 : 0)} ${r.unit}`, 16)} ${pad(r.baseline ? `${r.baseline.value.toFixed(r.baseline.value < 10 ? 3 : 0)} (${r.baseline.name})` : '-', 24)} ${pad(r.ratio === undefined ? '-' : r.ratio.toFixed(2), 7)} ${r.target ?? ''}${r.met === undefined ? '' : r.met ? ' ok' : ' MISSED'}`,
  )
}
writeFileSync(values.out!, `${JSON.stringify({at: new Date().toISOString(), scale: ctx.scale, node: process.version, results}, null, 2)}\n`)
process.exit(0)
