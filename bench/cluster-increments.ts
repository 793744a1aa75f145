/** 2 cluster workers x 64 callers increment through the memory driver; prints {rate}. */
import cluster from 'node:cluster'

import {parseConfig} from '../dist/core/config/load.js'
import {createIpc} from '../dist/core/ipc/create.js'
import {stepsFor} from '../dist/core/buffer/steps/index.js'

const total = Number(process.argv[2] ?? 200_000)
const config = parseConfig({ipc: {driver: 'memory'}}).ipc

if (cluster.isPrimary) {
  const ipc = await createIpc(config, {role: 'primary', serveSocket: false})
  let done = 0
  let ready = 0
  let start = 0n
  const workers = Array.from({length: 2}, () => cluster.fork({SHARE: String(total / 2)}))
  const finish = async () => {
    const seconds = Number(process.hrtime.bigint() - start) / 1e9
    process.stdout.write(`${JSON.stringify({rate: total / seconds, total: await ipc.get('hits')})}\n`)
    for (const worker of Object.values(cluster.workers ?? {})) worker?.kill()
    await ipc.close()
  }
  for (const worker of workers) {
    worker.on('message', (msg) => {
      // Timing starts when both workers are up (forking and loading are not the driver's cost).
      if (msg === 'ready' && ++ready === 2) {
        start = process.hrtime.bigint()
        for (const w of workers) w.send('go')
      }
      if (msg !== 'done' || ++done < 2) return
      // A failure ends the benchmark (an unhandled rejection), as it should.
      void finish()
    })
  }
} else {
  const ipc = await createIpc(config, {role: 'worker'})
  const share = Number(process.env.SHARE)
  await new Promise<void>((resolve) => {
    process.on('message', (msg) => msg === 'go' && resolve())
    process.send?.('ready')
  })
  let next = 0
  await Promise.all(
    Array.from({length: 64}, async () => {
      while (next < share) {
        next++
        await stepsFor(ipc).increment('bm', `default:posts:${next % 1000}:views`, 1)
      }
    }),
  )
  process.send?.('done')
}
