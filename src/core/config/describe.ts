import {resolveConnection} from './connections.js'
import type {LoadedConfig} from './load.js'
import {maskSecrets} from './mask.js'
import type {WbcConfig} from './schema.js'

export interface ConfigReport {
  file: string | null
  source: LoadedConfig['source']
  format: LoadedConfig['format']
  overrides: string[]
  driver: WbcConfig['ipc']['driver']
  connections: Array<{name: string; dialect: string; target: string}>
  config: WbcConfig
}

/** The resolved configuration as it may be shown: every password masked. */
export function describeConfig(loaded: LoadedConfig): ConfigReport {
  const connections = Object.entries(loaded.config.connections).map(([name, target]) => {
    const {dialect, target: label} = resolveConnection(name, target)
    return {name, dialect, target: label}
  })
  return {
    file: loaded.file ?? null,
    source: loaded.source,
    format: loaded.format,
    overrides: loaded.overrides,
    driver: loaded.config.ipc.driver,
    connections,
    config: maskSecrets(loaded.config),
  }
}
