/** 2 cluster workers x 64 callers increment through the memory driver; prints {rate}. */
import cluster from 'node:cluster'

import {parseConfig} from '../src/core/config/load.js'
import {createIpc} from '../src/core/ipc/create.js'

const total = Number(process.argv[2] ?? 200_000)
const config = parseConfig({ipc: {driver: 'memory'}}).ipc

if (cluster.isPrimary) {
  const ipc = await createIpc(config, {role: 'primary', serveSocket: false})
  let done = 0
  const start = process.hrtime.bigint()
  for (let w = 0; w < 2; w++) {
    cluster.fork({SHARE: String(total / 2)}).on('message', async (msg) => {
      if (msg !== 'done' || ++done < 2) return
      const seconds = Number(process.hrtime.bigint() - start) / 1e9
      process.stdout.write(`${JSON.stringify({rate: total / seconds, total: await ipc.get('hits')})}\n`)
      for (const worker of Object.values(cluster.workers ?? {})) worker?.kill()
      await ipc.close()
    })
  }
} else {
  const ipc = await createIpc(config, {role: 'worker'})
  const share = Number(process.env.SHARE)
  let next = 0
  await Promise.all(Array.from({length: 64}, async () => {
    while (next < share) {
      next++
      await ipc.steps.increment('bm', `default:posts:${next % 1000}:views`, 1)
    }
  }))
  process.send?.('done')
}
