import {existsSync, readFileSync} from 'node:fs'
import {dirname, isAbsolute, resolve} from 'node:path'

import {ConfigError} from '../errors.js'
import {maskText} from './mask.js'
import {fromOdac} from './odac.js'
import {identifierRule} from './identifiers.js'
import {findJsonSyntaxProblem} from './json-syntax.js'
import {configSchema, type WbcConfig, type WbcConfigInput} from './schema.js'
import {safeParse, type ZodError} from './zod-core.js'

/** Where the file came from: `--config`, `WBC_CONFIG`, found in the working directory, or none. */
export type ConfigSource = 'flag' | 'env' | 'discovered' | 'defaults'

export interface LoadedConfig {
  config: WbcConfig
  /** The file the config came from, if any. */
  file?: string
  source: ConfigSource
  /** wbc's own format, or an ODAC `odac.json` read as it is. */
  format: 'wbc' | 'odac'
  /** Environment variables that overrode the file. */
  overrides: string[]
}

export interface LoadOptions {
  /** `--config PATH`. */
  configPath?: string
  cwd?: string
  env?: NodeJS.ProcessEnv
}

/**
 * Finds and validates the configuration: `--config PATH`, then `WBC_CONFIG`, then
 * `./wbc.config.json`, then `./odac.json`, else the defaults (memory driver, SQLite file).
 * `WBC_REDIS_URL` and `DATABASE_URL` override what the file says. Relative paths in the result
 * are resolved against the config file's folder (or the working directory without a file).
 */
export function loadConfig(options: LoadOptions = {}): LoadedConfig {
  const cwd = options.cwd ?? process.cwd()
  const env = options.env ?? process.env
  const {file, source} = discover(cwd, options.configPath, env)
  const format = file && /(^|[\\/])odac\.json$/.test(file) ? 'odac' : 'wbc'

  let input: WbcConfigInput = {}
  if (file) {
    const raw = readJson(file)
    input = format === 'odac' ? fromOdac(raw, file) : (raw as WbcConfigInput)
  }
  const overrides: string[] = []
  input = applyEnv(input, env, overrides)
  const config = parseConfig(input, file)
  return {config: resolvePaths(config, file ? dirname(file) : cwd), file, source, format, overrides}
}

/** Validates a config object (from a file or given to the library) and fills in the defaults. */
export function parseConfig(input: unknown, file?: string): WbcConfig {
  const result = safeParse(configSchema, input)
  if (!result.success) throw configIssue(result.error, file)
  const config = result.data
  if (!config.connections.default) {
    throw new ConfigError(`${where(file)}connections.default: missing; expected the default connection`, {
      file,
      path: 'connections.default',
      hint: 'Add "default": "postgres://…" (or a knex config) under "connections", or set DATABASE_URL.',
    })
  }
  if (config.ipc.driver === 'redis' && config.ipc.redis === undefined) {
    throw new ConfigError(`${where(file)}ipc.redis: missing; the redis driver needs a URL or options`, {
      file,
      path: 'ipc.redis',
      hint: 'Add "redis": "redis://127.0.0.1:6379" under "ipc", or set WBC_REDIS_URL.',
    })
  }
  return config
}

function discover(cwd: string, configPath: string | undefined, env: NodeJS.ProcessEnv): {file?: string; source: ConfigSource} {
  const explicit = configPath ? {path: configPath, source: 'flag' as const} : env.WBC_CONFIG ? {path: env.WBC_CONFIG, source: 'env' as const} : undefined
  if (explicit) {
    const file = resolve(cwd, explicit.path)
    if (!existsSync(file)) {
      const from = explicit.source === 'flag' ? '--config' : 'WBC_CONFIG'
      throw new ConfigError(`config file ${file} (from ${from}) does not exist`, {
        file,
        hint: `Create it, or point ${from} at an existing wbc.config.json or odac.json.`,
      })
    }
    return {file, source: explicit.source}
  }
  for (const name of ['wbc.config.json', 'odac.json']) {
    const file = resolve(cwd, name)
    if (existsSync(file)) return {file, source: 'discovered'}
  }
  return {source: 'defaults'}
}

function readJson(file: string): unknown {
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch (error) {
    throw new ConfigError(`config file ${file} cannot be read: ${(error as Error).message}`, {file, cause: error})
  }
  try {
    return JSON.parse(text)
  } catch {
    // JSON.parse's own message may quote the file (passwords included) and often has no position.
    const found = findJsonSyntaxProblem(text)
    throw new ConfigError(`${file}${found ? `:${found.line}:${found.column}` : ''}: not valid JSON${found ? `: ${found.problem}` : ''}`, {
      file,
      hint: 'Fix the JSON syntax at that line and column (JSON has no comments and no comma after the last item).',
    })
  }
}

function applyEnv(input: WbcConfigInput, env: NodeJS.ProcessEnv, overrides: string[]): WbcConfigInput {
  if (input === null || typeof input !== 'object' || Array.isArray(input)) return input
  let out = input
  if (env.WBC_REDIS_URL) {
    const ipc = typeof out.ipc === 'object' && out.ipc !== null ? out.ipc : {}
    // A Redis URL in the environment means "use Redis" unless the file chose a driver itself.
    out = {...out, ipc: {...ipc, driver: ipc.driver ?? 'redis', redis: env.WBC_REDIS_URL}}
    overrides.push('WBC_REDIS_URL')
  }
  if (env.DATABASE_URL) {
    const connections = typeof out.connections === 'object' && out.connections !== null ? out.connections : {}
    out = {...out, connections: {...connections, default: env.DATABASE_URL}}
    overrides.push('DATABASE_URL')
  }
  return out
}

function resolvePaths(config: WbcConfig, base: string): WbcConfig {
  const abs = (path: string) => (isAbsolute(path) ? path : resolve(base, path))
  const connections: WbcConfig['connections'] = {}
  for (const [name, target] of Object.entries(config.connections)) {
    if (typeof target === 'string') {
      const sqlite = /^(sqlite|file):(\/\/)?(.+)$/i.exec(target)
      connections[name] = sqlite && sqlite[3] !== ':memory:' ? `sqlite:${abs(sqlite[3])}` : target
    } else {
      const conn = target.connection as Record<string, unknown> | undefined
      const isSqlite = /sqlite/.test(String(target.client))
      connections[name] = isSqlite && conn && typeof conn.filename === 'string' && conn.filename !== ':memory:' ? {...target, connection: {...conn, filename: abs(conn.filename)}} : target
    }
  }
  return {
    ...config,
    connections,
    ipc: {...config.ipc, socket: abs(config.ipc.socket)},
    buffer: {...config.buffer, checkpointPath: abs(config.buffer.checkpointPath)},
  }
}

const where = (file?: string) => (file ? `${file}: ` : '')

/** Every problem zod found, each with its path: fixing one at a time and rerunning wastes the reader's time. */
function configIssue(error: ZodError, file?: string): ConfigError {
  const problems = error.issues.map((issue) => {
    const path = issue.path.map(String).join('.') || '(top level)'
    let message = issue.message
    if (issue.code === 'invalid_key') {
      message = `is not a valid name: use ${identifierRule}`
    } else if (issue.code === 'unrecognized_keys') {
      message = `unknown field${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((key) => `"${key}"`).join(', ')}`
    }
    return {path, text: `${path}: ${message}`}
  })
  const listed = problems.length === 1 ? problems[0].text : `${problems.length} problems: ${problems.map((p) => p.text).join('; ')}`
  return new ConfigError(maskText(`${where(file)}${listed}`), {
    file,
    path: problems[0].path,
    hint: 'See the Configuration section of the README for every field and its default.',
  })
}
