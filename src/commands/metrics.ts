import {createServer} from 'node:http'

import {Flags} from '@oclif/core'

import {BaseCommand, describeError} from '../cli/base-command.js'
import {downPrometheus, readMetrics, toPrometheus} from '../core/inspect/metrics.js'
import {writeFileAtomic} from '../core/fs/safe-files.js'
import {printable} from '../ui/safe-text.js'

export default class Metrics extends BaseCommand<typeof Metrics> {
  static summary = 'Print the status figures and running totals in Prometheus text format (for a node_exporter textfile collector or a scrape).'
  static description = `Gauges (pending rows, oldest pending, in flight, dead letters, the lease, the last flush) and counters
(wbc_writes_total, wbc_rows_flushed_total, wbc_dead_lettered_total, wbc_flushes_total{status}).
When the state cannot be read the output is \`wbc_up 0\` with the error as a comment, never the previous figures:
--out still replaces the file (atomically) and the command exits with the error's code (3 for an unreachable store);
--serve answers every scrape with it (HTTP 200) until the store is back.`
  static examples = [
    {description: 'Print them', command: '<%= config.bin %> <%= command.id %>'},
    {description: 'From cron, for node_exporter (written atomically)', command: '<%= config.bin %> <%= command.id %> --out /var/lib/node_exporter/textfile/wbc.prom'},
    {description: 'Serve them for Prometheus on 127.0.0.1:9464/metrics', command: '<%= config.bin %> <%= command.id %> --serve 9464'},
  ]

  static enableJsonFlag = false
  static flags = {
    out: Flags.string({summary: 'Write to this file (atomically, via a temporary file) instead of stdout.', exclusive: ['serve']}),
    serve: Flags.integer({min: 0, max: 65535, summary: 'Serve them over HTTP on this port (GET /metrics), reading the state at each scrape, until interrupted.'}),
    host: Flags.string({default: '127.0.0.1', summary: 'The address --serve listens on (0.0.0.0 for every interface).'}),
  }

  /** The exposition text, and the error when the state could not be read. */
  private async scrape(): Promise<{text: string; error?: unknown}> {
    try {
      return {text: await this.withState(async (ipc, loaded) => toPrometheus(await readMetrics(ipc, loaded.config.ipc.prefix)))}
    } catch (error) {
      let labels: {prefix?: string; driver?: string} = {}
      try {
        const {config} = this.loadWbcConfig()
        labels = {prefix: config.ipc.prefix, driver: config.ipc.driver}
      } catch {
        // No configuration: the figure goes without labels.
      }
      return {text: downPrometheus(labels, printable(this.scrub(describeError(error as Error).message))), error}
    }
  }

  async run(): Promise<void> {
    if (this.flags.serve !== undefined) return this.serve(this.flags.serve, this.flags.host)
    const {text, error} = await this.scrape()
    if (this.flags.out) {
      // 0644: a textfile collector reads it as its own user; it holds figures, not values.
      writeFileAtomic(this.flags.out, text, 'the metrics file', 0o644)
    } else process.stdout.write(text)
    if (error) throw error
  }

  private async serve(port: number, host: string): Promise<void> {
    // One scrape at a time: a slow store is not asked twice at once.
    let running: Promise<unknown> = Promise.resolve()
    const server = createServer((request, response) => {
      const path = (request.url ?? '/').split('?')[0]
      if (request.method !== 'GET' && request.method !== 'HEAD') {
        response.writeHead(405, {allow: 'GET, HEAD'}).end()
        return
      }
      if (path !== '/metrics' && path !== '/') {
        response.writeHead(404, {'content-type': 'text/plain'}).end('see /metrics\n')
        return
      }
      running = running.then(async () => {
        const {text} = await this.scrape()
        response.writeHead(200, {'content-type': 'text/plain; version=0.0.4; charset=utf-8'}).end(request.method === 'HEAD' ? undefined : text)
      })
    })
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(port, host, () => resolve())
    })
    const address = server.address()
    const shown = typeof address === 'object' && address ? `${address.family === 'IPv6' ? `[${address.address}]` : address.address}:${address.port}` : `${host}:${port}`
    this.note(`serving metrics on http://${shown}/metrics (Ctrl-C stops)`)
    await new Promise<void>((resolve) => {
      const stop = () => {
        process.off('SIGINT', stop)
        process.off('SIGTERM', stop)
        server.close(() => resolve())
        server.closeAllConnections()
      }
      process.once('SIGINT', stop)
      process.once('SIGTERM', stop)
    })
  }
}
