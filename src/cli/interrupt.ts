/**
 * SIGINT and SIGTERM stop a command's work through an AbortSignal — the core then rolls back its
 * open transaction and releases the lease — instead of killing the process mid-way. The signal's
 * reason is the signal's name (the core's FlushInterrupted exits 130 for SIGINT, 143 for SIGTERM).
 * A second signal while it stops ends the process at once.
 */
export function abortOnSignals(): {signal: AbortSignal; dispose: () => void} {
  const controller = new AbortController()
  const handlers: Array<[NodeJS.Signals, () => void]> = []
  const dispose = () => {
    for (const [name, handler] of handlers) process.off(name, handler)
  }
  for (const name of ['SIGINT', 'SIGTERM'] as const) {
    const handler = () => {
      if (!controller.signal.aborted) return controller.abort(name)
      dispose()
      process.kill(process.pid, name)
    }
    handlers.push([name, handler])
    process.on(name, handler)
  }
  return {signal: controller.signal, dispose}
}
