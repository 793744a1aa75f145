// Writes docs/schemas/<command>.schema.json from the zod schemas in src/cli/output-schemas/ (the JSON
// Schema of each command's --json output), removing files of commands that no longer exist.
// Run: npm run schemas (node --import tsx scripts/schemas.mjs).
import {mkdirSync, readdirSync, rmSync, writeFileSync} from 'node:fs'
import {dirname, join} from 'node:path'
import {fileURLToPath} from 'node:url'

import {renderSchemas, SCHEMAS_DIR} from '../src/cli/output-schemas/generate.ts'

const dir = join(dirname(fileURLToPath(import.meta.url)), '..', SCHEMAS_DIR)
mkdirSync(dir, {recursive: true})
const files = renderSchemas()
for (const name of readdirSync(dir)) if (name.endsWith('.schema.json') && !files.has(name)) rmSync(join(dir, name))
for (const [name, text] of files) writeFileSync(join(dir, name), text)
console.log(`${files.size} schemas written to ${SCHEMAS_DIR}/`)
