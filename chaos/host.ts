/**
 * The memory-driver application of a chaos run: a cluster primary that holds the state (with its
 * LMDB checkpoint, its flush timer and the socket wbc uses) and cluster workers that write.
 * CHAOS_HOST (JSON): {config, leaseTtlMs, workers: WriterOptions[]}. Prints 'ready' once serving
 * and every worker listens.
 * SIGUSR2 stops the workers (and prints their summaries); SIGTERM closes with a last flush.
 */
import cluster from 'node:cluster'

import {createWriteBuffer} from '../src/core/buffer/write-buffer.js'
import {startWriter, type WriterOptions} from './writer-loop.js'

interface HostOptions {
  config: Parameters<typeof createWriteBuffer>[0]
  leaseTtlMs: number
  workers: WriterOptions[]
}

if (cluster.isPrimary) {
  const options = JSON.parse(process.env.CHAOS_HOST!) as HostOptions
  const wb = await createWriteBuffer(options.config, {role: 'primary', timers: true, serveSocket: true, leaseTtlMs: options.leaseTtlMs})
  const workers = options.workers.map((writer) => cluster.fork({CHAOS_WRITER: JSON.stringify(writer)}))
  // Ready once every worker listens for 'stop' (a stop sent earlier would be lost).
  await Promise.all(workers.map((worker) => new Promise<void>((resolve) => worker.on('message', (message) => message === 'ready' && resolve()))))
  process.stdout.write('ready\n')
  process.on('SIGUSR2', () => {
    const summaries = workers.map(
      (worker) =>
        new Promise((resolve) => {
          // The worker's Ipc talks over the same channel: wait for the summary itself.
          const onMessage = (message: unknown) => {
            if (!message || typeof message !== 'object' || !('ops' in message)) return
            worker.off('message', onMessage)
            resolve(message)
          }
          worker.on('message', onMessage)
          worker.send('stop')
        }),
    )
    void Promise.all(summaries).then((all) => process.stdout.write(`${JSON.stringify({workers: all})}\n`))
  })
  process.once('SIGTERM', () => {
    for (const worker of workers) worker.process.kill('SIGKILL')
    void wb.close().finally(() => process.exit(0))
  })
} else {
  const writer = startWriter({...(JSON.parse(process.env.CHAOS_WRITER!) as WriterOptions), role: 'worker', timers: false})
  process.on('message', (message) => {
    if (message !== 'stop') return
    void writer.stop().then((summary) => {
      process.send!(summary, () => process.exit(0))
    })
  })
  process.send!('ready')
}
