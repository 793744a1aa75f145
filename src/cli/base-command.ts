import {Command, Errors, Flags, type Interfaces} from '@oclif/core'
import {readFileSync} from 'node:fs'

import {loadConfig, type LoadedConfig} from '../core/config/load.js'
import {redact, redactValue, secretsOf} from '../core/config/mask.js'
import {ExitCode, WbcError} from '../core/errors.js'
import type {Ipc} from '../core/ipc/types.js'
import {openState} from './context.js'
import {printable, printableJson, printableLines} from '../ui/safe-text.js'
import {colorWanted, createStyle, type Style} from '../ui/style.js'

export type BaseFlags<T extends typeof Command> = Interfaces.InferredFlags<(typeof BaseCommand)['baseFlags'] & T['flags']>
export type BaseArgs<T extends typeof Command> = Interfaces.InferredArgs<T['args']>

/**
 * Every wbc command: owns `--config`, `--json`, `--no-color`, the rendering of errors (message
 * and hint; one JSON document with --json) and the exit codes. Commands parse, call one core
 * function and render its result.
 */
export abstract class BaseCommand<T extends typeof Command> extends Command {
  static enableJsonFlag = true

  static baseFlags = {
    config: Flags.string({
      char: 'c',
      summary: 'Config file (wbc.config.json or odac.json). Default: $WBC_CONFIG, ./wbc.config.json, ./odac.json.',
      helpGroup: 'GLOBAL',
    }),
    color: Flags.boolean({
      allowNo: true,
      summary: 'Colour the output even when piped (default: on a terminal unless NO_COLOR is set; --no-color: never).',
      helpGroup: 'GLOBAL',
    }),
  }

  protected flags!: BaseFlags<T>
  protected args!: BaseArgs<T>
  protected style: Style = createStyle(colorWanted(undefined, process.stderr))
  protected tty = Boolean(process.stdout.isTTY)
  private loaded?: LoadedConfig
  private secrets = new Set<string>()

  async init(): Promise<void> {
    // Secrets from the environment are scrubbed even from errors of parsing and loading the config.
    for (const name of ['WBC_REDIS_URL', 'DATABASE_URL']) secretsOf(process.env[name] ?? '', this.secrets)
    await super.init()
    const {flags, args} = await this.parse({
      flags: this.ctor.flags,
      baseFlags: (super.ctor as typeof BaseCommand).baseFlags,
      enableJsonFlag: this.ctor.enableJsonFlag,
      args: this.ctor.args,
      strict: this.ctor.strict,
    })
    this.flags = flags as BaseFlags<T>
    this.args = args as BaseArgs<T>
    this.style = createStyle(colorWanted(this.flags.color))
  }

  /** The configuration, loaded once; its passwords are remembered so no output can show them. */
  protected loadWbcConfig(): LoadedConfig {
    if (!this.loaded) {
      try {
        this.loaded = loadConfig({configPath: this.flags.config})
      } catch (error) {
        this.rememberSecretsOfFile((error as {file?: string}).file ?? this.flags.config ?? process.env.WBC_CONFIG)
        throw error
      }
      secretsOf(this.loaded.config, this.secrets)
    }
    return this.loaded
  }

  /** A config that failed validation may still hold passwords its error could echo: they are scrubbed too. */
  private rememberSecretsOfFile(file: string | undefined): void {
    if (!file) return
    try {
      secretsOf(JSON.parse(readFileSync(file, 'utf8')), this.secrets)
    } catch {
      // Unreadable or not JSON: its error names no value.
    }
  }

  /** Runs `work` with the state store open (Redis, or the application's socket), closing it after. */
  protected async withState<R>(work: (ipc: Ipc, loaded: LoadedConfig) => Promise<R>): Promise<R> {
    const loaded = this.loadWbcConfig()
    const ipc = await openState(loaded)
    try {
      return await work(ipc, loaded)
    } finally {
      await ipc.close()
    }
  }

  /**
   * Progress and notes: stderr, so stdout stays one parseable document. A note is one line: a
   * value inside it (a host name, a cursor) can neither add a line nor drive the terminal.
   */
  protected note(message: string): void {
    process.stderr.write(`${printable(this.scrub(message))}\n`)
  }

  /**
   * Human output. Renderers escape each value they put in (src/ui/safe-text.ts); this escapes what
   * is left once more, keeping only the output's own line breaks and colour codes (`keepColour`:
   * for a renderer such as Ink that colours on its own terms).
   */
  protected print(text: string, keepColour = this.style.color): void {
    this.log(printableLines(this.scrub(text), keepColour))
  }

  /** One NDJSON line (a followed stream under --json): exact JSON, one line, terminal-safe. */
  protected printJsonLine(json: unknown): void {
    const plain: unknown = json === undefined ? undefined : JSON.parse(JSON.stringify(json))
    process.stdout.write(`${printableJson(JSON.stringify(this.scrubValue(plain)))}\n`)
  }

  protected scrub(text: string): string {
    return redact(text, this.secrets)
  }

  /** The same scrubbing on every string of a value (the JSON stays valid: masks replace whole strings' parts). */
  protected scrubValue<V>(value: V): V {
    return redactValue(value, this.secrets)
  }

  protected logJson(json: unknown): void {
    const plain: unknown = json === undefined ? undefined : JSON.parse(JSON.stringify(json))
    process.stdout.write(`${printableJson(JSON.stringify(this.scrubValue(plain), null, 2))}\n`)
  }

  /**
   * Ends a command with `code`. Without --json, `human` runs first (notes, the reason). A failing
   * code exits at once, before oclif could print the returned value, so under --json the result
   * is written here: the same document either way.
   */
  protected finish<R>(code: ExitCode, result: R, human?: () => void): R {
    if (!this.jsonEnabled()) human?.()
    if (code === ExitCode.ok) return result
    if (this.jsonEnabled()) this.logJson(result)
    this.exit(code)
  }

  protected async catch(err: Error & {exitCode?: number; oclif?: {exit?: number}}): Promise<unknown> {
    if (err instanceof Errors.ExitError) throw err
    const error = describeError(err)
    if (this.jsonEnabled()) {
      this.logJson({error})
    } else {
      // Messages quote values from the state and services' own words: one escaped line each.
      process.stderr.write(`${this.style.red('Error:')} ${printable(this.scrub(error.message))}\n`)
      if (error.hint) process.stderr.write(`${this.style.dim('Hint:')} ${printable(this.scrub(error.hint))}\n`)
      if (error.exitCode === ExitCode.unexpected && process.env.DEBUG && err.stack) process.stderr.write(`${printableLines(this.scrub(err.stack))}\n`)
    }
    this.exit(error.exitCode)
  }
}

export interface ErrorReport {
  code: string
  message: string
  hint?: string
  exitCode: number
}

/** Typed errors keep their code; oclif's usage errors exit 2; anything else is unexpected (1). */
export function describeError(err: Error & {oclif?: {exit?: number}}): ErrorReport {
  if (err instanceof WbcError) return {code: err.code, message: err.message, hint: err.hint, exitCode: err.exitCode}
  if (err instanceof Errors.CLIError || err?.oclif?.exit !== undefined) {
    return {code: 'USAGE', message: err.message.replace(/\n\s*See more help with --help$/, ''), hint: 'See `wbc <command> --help`.', exitCode: ExitCode.usage}
  }
  return {
    code: 'UNEXPECTED',
    message: err?.message ?? String(err),
    hint: 'This is a bug or an unhandled condition; run again with DEBUG=1 for the stack trace.',
    exitCode: ExitCode.unexpected,
  }
}
