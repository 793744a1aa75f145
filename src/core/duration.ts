import {InvalidArgument} from './errors.js'

const UNITS: Record<string, number> = {ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000}

/**
 * `500ms`, `30s`, `5m`, `2h`, `1d` (decimals allowed: `1.5h`), or `0`. The unit is required: a bare
 * `5` could mean 5 ms or 5 minutes, and guessing wrong turns a health check's 5 minutes into 5 ms.
 */
export function parseDuration(text: string, argument = 'duration'): number {
  const match = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$/.exec(text)
  if (!match) throw new InvalidArgument(argument, `"${text}" is not a duration`, 'Write it with its unit, like 500ms, 30s, 5m, 2h or 1d.')
  const amount = Number(match[1])
  if (match[2] === undefined && amount !== 0) {
    const n = match[1]
    throw new InvalidArgument(argument, `"${text.trim()}" has no unit: ${n}ms, ${n}s, ${n}m, ${n}h or ${n}d?`, `Write the unit, e.g. ${n}s or ${n}m.`)
  }
  return Math.round(amount * UNITS[match[2] ?? 'ms'])
}

/** The text form the config accepts for a duration (a JSON number there is milliseconds). */
export const DURATION_TEXT = /^\s*(?:0|\d+(?:\.\d+)?\s*(?:ms|s|m|h|d))\s*$/

/**
 * A duration for people, in its two largest units, zeros left out: `450ms`, `1.5s`, `5m`,
 * `5m3s`, `2h5m`, `7d`, `7d3h`.
 */
export function formatDuration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return '-'
  if (ms < 1000) return `${Math.round(ms)}ms`
  if (ms < 60_000) return `${(ms / 1000).toFixed(1).replace(/\.0$/, '')}s`
  const two = (big: number, bigUnit: string, small: number, smallUnit: string) => `${big}${bigUnit}${small > 0 ? `${small}${smallUnit}` : ''}`
  if (ms < 3_600_000) return two(Math.floor(ms / 60_000), 'm', Math.floor((ms % 60_000) / 1000), 's')
  if (ms < 86_400_000) return two(Math.floor(ms / 3_600_000), 'h', Math.floor((ms % 3_600_000) / 60_000), 'm')
  return two(Math.floor(ms / 86_400_000), 'd', Math.floor((ms % 86_400_000) / 3_600_000), 'h')
}
