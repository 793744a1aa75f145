/**
 * The randomized fault run. Usage:
 *   npm run chaos -- --minutes 10 --seed 42 [--drivers redis,memory] [--dialects postgres,mysql]
 * The time is split between the driver × dialect combinations. Prints lost/duplicated/wrong per
 * combination and exits 1 on any difference. Servers come from WBC_TEST_PG_URL / WBC_TEST_MYSQL_URL.
 */
import {parseArgs} from 'node:util'

import {runChaos, type ChaosResult} from './harness.js'

const {values} = parseArgs({
  options: {
    minutes: {type: 'string', default: '2'},
    seed: {type: 'string', default: String(Date.now() % 100000)},
    drivers: {type: 'string', default: 'redis,memory'},
    dialects: {type: 'string', default: 'postgres,mysql'},
  },
})
const drivers = values.drivers!.split(',') as Array<'memory' | 'redis'>
const dialects = values.dialects!.split(',') as Array<'postgres' | 'mysql'>
const combos = drivers.flatMap((driver) => dialects.map((dialect) => ({driver, dialect})))
const seconds = Math.max(5, (Number(values.minutes) * 60) / combos.length)
const seed = Number(values.seed)

const results: ChaosResult[] = []
for (const {driver, dialect} of combos) {
  const result = await runChaos({
    driver,
    dialect,
    seconds,
    seed,
    postgresUrl: process.env.WBC_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test',
    mysqlUrl: process.env.WBC_TEST_MYSQL_URL ?? 'mysql://root@127.0.0.1:3306/test',
    log: (line) => process.stderr.write(`${line}\n`),
  })
  results.push(result)
  const faults = Object.entries(result.faults)
    .map(([name, n]) => `${name}=${n}`)
    .join(' ')
  console.log(
    `${driver}+${dialect} seed=${seed} ${seconds.toFixed(0)}s ops=${result.ops} acknowledged=${result.acknowledged} ambiguous=${result.ambiguous} ` +
      `lost=${result.lost} duplicated=${result.duplicated} wrong=${result.wrong} left=${JSON.stringify(result.left)}\n  faults: ${faults}\n  writer errors: ${JSON.stringify(result.writerErrors)}`,
  )
  for (const difference of result.differences) console.log(`  ${difference}`)
}
const failed = results.some((r) => r.lost + r.duplicated + r.wrong > 0 || r.left.pending !== 0 || r.left.inflight !== 0 || r.left.deadLetters !== 0)
console.log(failed ? 'chaos: DIFFERENCES FOUND' : `chaos: lost=0 duplicated=0 wrong=0 over ${results.length} runs`)
process.exit(failed ? 1 : 0)
