/**
 * Start-up cost of a status probe (#16): `node -e 0`, `wbc --version` and `wbc status --json`
 * against Redis (empty prefix), run in turn so a loaded machine slows each the same; medians.
 * Usage: node --import tsx bench/start-up.ts [--runs 10] [--bin label=path/to/bin/run.js ...]
 * Without --bin it measures this checkout's build (bin/run.js, run `npm run build` first); several
 * --bin compare builds in the same rounds (e.g. a copy of the previous commit's build).
 */
import {spawnSync} from 'node:child_process'
import {mkdtempSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {parseArgs} from 'node:util'

const {values} = parseArgs({options: {runs: {type: 'string', default: '10'}, bin: {type: 'string', multiple: true}}})
const runs = Number(values.runs)
const bins = (values.bin ?? [`this=${join(import.meta.dirname, '..', 'bin', 'run.js')}`]).map((spec) => {
  const at = spec.indexOf('=')
  return {label: spec.slice(0, at), path: spec.slice(at + 1)}
})

const cwd = mkdtempSync(join(tmpdir(), 'wbc-start-up-'))
const redis = process.env.WBC_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379'
writeFileSync(join(cwd, 'wbc.config.json'), JSON.stringify({ipc: {driver: 'redis', redis, prefix: `wbc-start-up-${process.pid}`}}))

const commands: {name: string; args: string[]}[] = [{name: 'node -e 0', args: ['-e', '0']}]
for (const {label, path} of bins) {
  commands.push({name: `${label}: --version`, args: [path, '--version']}, {name: `${label}: status --json`, args: [path, 'status', '--json']})
}

const times = new Map(commands.map((command) => [command.name, [] as number[]]))
for (let round = 0; round < runs; round++) {
  for (const {name, args} of commands) {
    const start = process.hrtime.bigint()
    const run = spawnSync(process.execPath, args, {cwd, encoding: 'utf8'})
    const ms = Number(process.hrtime.bigint() - start) / 1e6
    if (run.status !== 0) throw new Error(`${name} exited ${run.status}: ${run.stderr}`)
    times.get(name)!.push(ms)
  }
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b)
  const middle = sorted.length / 2
  return sorted.length % 2 ? sorted[Math.floor(middle)] : (sorted[middle - 1] + sorted[middle]) / 2
}
for (const [name, values] of times) console.log(`${name.padEnd(28)} ${median(values).toFixed(0).padStart(6)} ms`)
for (const {label} of bins) {
  const ratio = median(times.get(`${label}: status --json`)!) / median(times.get(`${label}: --version`)!)
  console.log(`${`${label}: status / --version`.padEnd(28)} ${ratio.toFixed(2).padStart(6)}x`)
}
