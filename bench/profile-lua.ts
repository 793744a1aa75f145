/**
 * Profiling aid (#16): how much work Redis does per counter and per queued row in the claim and
 * ack steps, counted in instructions by callgrind (valgrind), which, unlike a clock, gives the same
 * count however loaded the machine is. Starts its own redis-server under valgrind on a free port,
 * seeds N counters with cached bases (as increments leave them) or N queued rows, and counts one
 * claim and one ack of all of them.
 * Usage: node --import tsx bench/profile-lua.ts [N]   (needs valgrind and redis-server on the PATH)
 */
import {execFileSync, spawn} from 'node:child_process'
import {mkdtempSync, readdirSync, readFileSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {Redis} from 'ioredis'

import {freePort} from '../chaos/services.js'
import {stepLua} from '../src/core/buffer/steps/lua.js'

const count = Number(process.argv[2] ?? 5000)
const dir = mkdtempSync(join(tmpdir(), 'wbc-lua-'))
const port = await freePort()
const server = spawn(
  'valgrind',
  ['--tool=callgrind', `--callgrind-out-file=${join(dir, 'cg.out')}`, 'redis-server', '--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
  {stdio: 'ignore'},
)
process.on('exit', () => server.kill('SIGKILL'))
// Refused until valgrind has started the server: ioredis retries until it is ready.
const redis = new Redis({port, retryStrategy: () => 200})
redis.on('error', () => {})
await new Promise((resolve) => redis.once('ready', resolve))

/** Instructions Redis ran since the last call (callgrind's counters are zeroed after each dump). */
function instructions(): number {
  execFileSync('callgrind_control', ['--dump', String(server.pid)], {stdio: 'ignore'})
  const dumps = readdirSync(dir)
    .filter((f) => /^cg\.out\.\d+$/.test(f))
    .sort((a, b) => Number(a.split('.').pop()) - Number(b.split('.').pop()))
  return Number(/^summary: (\d+)/m.exec(readFileSync(join(dir, dumps.at(-1)!), 'utf8'))![1])
}

const p = 'lua'
const table = 'default:posts'
const claim = (await redis.script('LOAD', stepLua('claim'))) as string
const ack = (await redis.script('LOAD', stepLua('ack'))) as string
const claimKeys = (id: string) => [`${p}:idx:counters`, `${p}:idx:updates`, `${p}:idx:queues`, `${p}:idx:inflight`, `${p}:if:${id}`, `${p}:gen:${table}`, `${p}:q:${table}`]

async function countClaimAndAck(label: string, claimArgs: Array<string | number>, id: string): Promise<void> {
  instructions()
  const batch = await redis.evalsha(claim, 7, ...claimKeys(id), p, id, Date.now(), table, ...claimArgs)
  const claimed = instructions()
  if (!batch) throw new Error('nothing was claimed')
  await redis.evalsha(ack, 2, `${p}:if:${id}`, `${p}:idx:inflight`, p, id, Date.now())
  const acked = instructions()
  console.log(JSON.stringify({case: label, count, claimPerItem: Math.round(claimed / count), ackPerItem: Math.round(acked / count)}))
}

try {
  const members = Array.from({length: count}, (_, i) => `${table}:${i + 1}:views`)
  await redis.eval(
    `for i = 1, ${count} do local m = '${table}:' .. i .. ':views' redis.call('SET', '${p}:c:' .. m, '1') redis.call('SADD', '${p}:idx:counters', m) redis.call('SET', '${p}:b:' .. m, '100', 'EX', 3600) end return 1`,
    0,
  )
  await countClaimAndAck('counters, bases cached', [0, count, ...members, 0], 'c1')
  const rows = Array.from({length: count}, (_, i) => JSON.stringify({user_id: i + 1, action: 'view', at: '2026-12-01T10:00:00.000Z'}))
  for (let i = 0; i < count; i += 1000) await redis.rpush(`${p}:q:${table}`, ...rows.slice(i, i + 1000))
  await redis.sadd(`${p}:idx:queues`, table)
  await countClaimAndAck('queued rows (3 columns)', [count, 0, 0], 'r1')
} finally {
  redis.disconnect()
  server.kill('SIGTERM')
  await new Promise((resolve) => server.once('exit', resolve))
  rmSync(dir, {recursive: true, force: true})
}
