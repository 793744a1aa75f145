/** The published JSON Schema files (docs/schemas/), rendered from the zod schemas: name → text. */
import {z} from 'zod'

import {commandOutputs, commandSchema} from './commands.js'

export const SCHEMAS_DIR = 'docs/schemas'

/** `deadletter list` → `deadletter-list.schema.json`. */
export const schemaFileName = (id: string) => `${id.replaceAll(' ', '-')}.schema.json`

export function renderSchemas(): Map<string, string> {
  const files = new Map<string, string>()
  for (const id of Object.keys(commandOutputs).sort()) {
    const json = z.toJSONSchema(commandSchema(id), {target: 'draft-2020-12', io: 'output'})
    files.set(schemaFileName(id), `${JSON.stringify(json, null, 2)}\n`)
  }
  return files
}
