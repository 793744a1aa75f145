/**
 * Wraps an object whose methods answer with promises (the dashboard's data source) so that every
 * answer and every error message passes through `scrub` before anything renders it.
 */
export function scrubbed<T extends object>(target: T, scrubValue: <V>(value: V) => V): T {
  return new Proxy(target, {
    get(object, name, receiver) {
      const member = Reflect.get(object, name, receiver) as unknown
      if (typeof member !== 'function') return member
      return (...args: unknown[]) => {
        const result = (member as (...a: unknown[]) => unknown).apply(object, args)
        if (!(result instanceof Promise)) return result
        return result.then(scrubValue, (error: unknown) => {
          if (error instanceof Error) {
            error.message = scrubValue(error.message)
            const hinted = error as Error & {hint?: string}
            if (typeof hinted.hint === 'string') Object.defineProperty(hinted, 'hint', {value: scrubValue(hinted.hint)})
          }
          throw error
        })
      }
    },
  })
}
