/**
 * Typed errors of the engine. Each carries the exit code the CLI returns for it and a hint that
 * tells the reader how to fix the problem. The core throws these and never prints.
 */
export const ExitCode = {
  ok: 0,
  unexpected: 1,
  usage: 2,
  unavailable: 3,
  leaseHeld: 4,
  partial: 5,
  threshold: 6,
  /** The state store came back older than the database (restarted from an old snapshot): flushing is refused. */
  rollback: 7,
  /** Stopped by SIGINT (128 + 2): the open transaction rolled back, the lease released. */
  interrupted: 130,
  /** Stopped by SIGTERM (128 + 15), likewise. */
  terminated: 143,
} as const
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode]

export class WbcError extends Error {
  readonly exitCode: ExitCode
  readonly hint?: string
  readonly code: string

  constructor(code: string, message: string, options: {exitCode?: ExitCode; hint?: string; cause?: unknown} = {}) {
    super(message, options.cause === undefined ? undefined : {cause: options.cause})
    this.name = new.target.name
    this.code = code
    this.exitCode = options.exitCode ?? ExitCode.unexpected
    this.hint = options.hint
  }

  toJSON(): {code: string; message: string; hint?: string; exitCode: number} {
    return {code: this.code, message: this.message, hint: this.hint, exitCode: this.exitCode}
  }
}

/** The configuration (file, environment or object) is invalid or cannot be found. */
export class ConfigError extends WbcError {
  readonly file?: string
  readonly path?: string

  constructor(message: string, options: {file?: string; path?: string; hint?: string; cause?: unknown} = {}) {
    super('CONFIG_INVALID', message, {exitCode: ExitCode.usage, hint: options.hint, cause: options.cause})
    this.file = options.file
    this.path = options.path
  }
}

/** An argument given to the API is invalid; nothing was stored for the call. */
export class InvalidArgument extends WbcError {
  readonly argument: string

  constructor(argument: string, message: string, hint?: string) {
    super('INVALID_ARGUMENT', `${argument}: ${message}`, {exitCode: ExitCode.usage, hint})
    this.argument = argument
  }
}

/** A stored key holds a value of another type than the operation needs (like Redis WRONGTYPE). */
export class WrongType extends WbcError {
  readonly key: string

  constructor(key: string, expected: string, actual: string) {
    super('WRONG_TYPE', `key "${key}" holds a ${actual}, not a ${expected}`, {
      exitCode: ExitCode.usage,
      hint: 'Use another key, or delete this one first if its content is not needed.',
    })
    this.key = key
  }
}

/** A service (Redis, a database, the memory driver's socket) cannot be reached. */
export class ServiceUnavailable extends WbcError {
  readonly service: string
  readonly address: string

  constructor(service: string, address: string, reason: string, options: {hint?: string; cause?: unknown} = {}) {
    super('SERVICE_UNAVAILABLE', `${service} at ${address} is unreachable: ${reason}`, {
      exitCode: ExitCode.unavailable,
      hint: options.hint ?? `Check that ${service} is running and that the address in the configuration is right.`,
      cause: options.cause,
    })
    this.service = service
    this.address = address
  }
}

/**
 * A service (Redis, a database) refused the credentials: a wrong password, an unknown or disabled
 * ACL user. The message names the service and its address, never the password.
 */
export class AuthenticationFailed extends WbcError {
  readonly service: string
  readonly address: string

  constructor(service: string, address: string, reason: string, options: {cause?: unknown} = {}) {
    super('AUTH_FAILED', `${service} at ${address} refused the credentials (authentication failed): ${reason}`, {
      exitCode: ExitCode.unavailable,
      hint: `Check the user name and password for ${service} in the configuration (or WBC_REDIS_URL / DATABASE_URL); percent-encode special characters in a URL's password.`,
      cause: options.cause,
    })
    this.service = service
    this.address = address
  }
}

/** A request to the memory driver's primary got no answer in time. It was not retried. */
export class RequestTimeout extends WbcError {
  constructor(operation: string, address: string, timeoutMs: number) {
    super('REQUEST_TIMEOUT', `${operation} got no answer from ${address} within ${timeoutMs} ms`, {
      exitCode: ExitCode.unavailable,
      hint: 'The request was not retried, so it is applied at most once. Check that the application holding the state is responsive.',
    })
  }
}

/** A lease is held by another owner. */
export class LeaseHeld extends WbcError {
  readonly key: string

  constructor(key: string, holder: string) {
    super('LEASE_HELD', `lease "${key}" is held by ${holder}`, {
      exitCode: ExitCode.leaseHeld,
      hint: 'Wait for the holder to finish, or see `wbc locks`.',
    })
    this.key = key
  }
}

/** A stored value cannot be decoded (not written by wbc or ODAC, or damaged). */
export class CorruptValue extends WbcError {
  readonly key: string

  constructor(key: string, detail: string) {
    super('CORRUPT_VALUE', `key "${key}" holds a value that cannot be decoded: ${detail}`, {
      exitCode: ExitCode.unexpected,
      hint: 'Inspect the key (see `wbc doctor`); delete it if it was not written by wbc or ODAC.',
    })
    this.key = key
  }
}

/**
 * An increment was buffered, but its new total could not be read (the database was unreachable).
 * The delta is kept and will be flushed: retrying the increment would count it twice.
 */
export class TotalUnavailable extends WbcError {
  readonly buffered = true as const

  constructor(member: string, cause: unknown) {
    super('TOTAL_UNAVAILABLE', `the increment of ${member} was buffered, but its total could not be read: ${cause instanceof Error ? cause.message : String(cause)}`, {
      exitCode: ExitCode.unavailable,
      hint: 'Do not retry the increment (it is kept and will be flushed); read the total later with get().',
      cause,
    })
  }
}

/**
 * Another live process owns this checkpoint (the application that keeps it, or `wbc recover`).
 * One owner at a time: a second one would apply or overwrite the same pending writes.
 */
export class CheckpointInUse extends WbcError {
  readonly path: string
  readonly holderPid: number | null

  constructor(path: string, holderPid: number | null) {
    super('CHECKPOINT_IN_USE', `the checkpoint at ${path} is in use by another process${holderPid ? ` (pid ${holderPid})` : ''}; nothing was changed`, {
      exitCode: ExitCode.leaseHeld,
      hint: 'One process owns a checkpoint at a time: the application that keeps it, or `wbc recover` while that application is down. Wait for it to finish (or stop it), then try again.',
    })
    this.path = path
    this.holderPid = holderPid
  }
}
