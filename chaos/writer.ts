/**
 * A chaos writer process (redis driver, or a memory-driver writer over the socket). Options come
 * as JSON in CHAOS_WRITER; SIGTERM stops it cleanly and it prints its summary as JSON.
 */
import {startWriter, type WriterOptions} from './writer-loop.js'

const writer = startWriter(JSON.parse(process.env.CHAOS_WRITER!) as WriterOptions)
process.once('SIGTERM', () => {
  void writer.stop().then((summary) => {
    process.stdout.write(`${JSON.stringify(summary)}\n`)
    process.exit(0)
  })
})
