// Reads a checkpoint file end to end in a separate process: a damaged LMDB file can crash the
// reader (SIGBUS, SIGSEGV) instead of failing, and that must not take the application with it.
// Usage: node probe.mjs PATH. Prints the number of entries; exits non-zero with the error.
import {open} from 'lmdb'

const db = open({path: process.argv[2], compression: true, readOnly: true})
let entries = 0
for (const {value} of db.getRange({})) {
  if (value !== undefined) entries++
}
process.stdout.write(`${entries}\n`)
await db.close()
