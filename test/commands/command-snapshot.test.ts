import {readFileSync} from 'node:fs'
import {join} from 'node:path'

import {describe, expect, it} from 'vitest'

interface ManifestFlag {
  name: string
  type: 'boolean' | 'option'
  char?: string
  multiple?: boolean
  default?: unknown
  options?: string[]
  required?: boolean
  summary?: string
  description?: string
  allowNo?: boolean
  delimiter?: string
  exclusive?: string[]
  dependsOn?: string[]
  helpGroup?: string
}
interface ManifestArg {
  name: string
  description?: string
  required?: boolean
  default?: unknown
  options?: string[]
}
interface ManifestCommand {
  aliases: string[]
  strict?: boolean
  enableJsonFlag?: boolean
  args: Record<string, ManifestArg>
  flags: Record<string, ManifestFlag>
}

const UPDATE =
  'A command, flag or argument changed. If that is on purpose, update the snapshot with `npx vitest run test/commands/command-snapshot.test.ts -u` and commit test/commands/__snapshots__/command-flags.json (scripts calling wbc may depend on it).'

/** Only what a script calling wbc depends on, in a fixed order (absent fields stay absent). */
function surfaceOf(command: ManifestCommand) {
  const flag = (f: ManifestFlag) => ({
    name: f.name,
    type: f.type,
    char: f.char,
    multiple: f.multiple,
    default: f.default,
    options: f.options,
    required: f.required,
    allowNo: f.allowNo,
    delimiter: f.delimiter,
    exclusive: f.exclusive,
    dependsOn: f.dependsOn,
    helpGroup: f.helpGroup,
    description: f.summary ?? f.description,
  })
  return {
    aliases: command.aliases,
    strict: command.strict,
    json: command.enableJsonFlag,
    args: Object.values(command.args).map((a) => ({name: a.name, required: a.required, default: a.default, options: a.options, description: a.description})),
    flags: Object.fromEntries(
      Object.keys(command.flags)
        .sort()
        .map((name) => [name, flag(command.flags[name])]),
    ),
  }
}

/**
 * Every command's flags and arguments, read from oclif.manifest.json (what the CLI loads; `npm run
 * build` writes it), compared with the committed snapshot, so renaming or changing a flag, its
 * type, default or options is a reviewed change, never an accident.
 */
describe('command surface', () => {
  it('every command, flag and argument matches test/commands/__snapshots__/command-flags.json', async () => {
    const manifest = JSON.parse(readFileSync(join(import.meta.dirname, '..', '..', 'oclif.manifest.json'), 'utf8')) as {commands: Record<string, ManifestCommand>}
    const surface = Object.fromEntries(
      Object.keys(manifest.commands)
        .sort()
        .map((id) => [id.replaceAll(':', ' '), surfaceOf(manifest.commands[id])]),
    )
    await expect(`${JSON.stringify(surface, null, 2)}\n`).toMatchFileSnapshot('./__snapshots__/command-flags.json', UPDATE)
  })
})
