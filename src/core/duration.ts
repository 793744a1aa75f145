import {InvalidArgument} from './errors.js'

const UNITS: Record<string, number> = {ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000}

/** `500ms`, `30s`, `5m`, `2h`, `1d`, or a plain number of milliseconds. */
export function parseDuration(text: string, argument = 'duration'): number {
  const match = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$/.exec(text)
  if (!match) throw new InvalidArgument(argument, `"${text}" is not a duration`, 'Write it like 500ms, 30s, 5m, 2h or 1d.')
  return Math.round(Number(match[1]) * UNITS[match[2] ?? 'ms'])
}

export function formatDuration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return '-'
  if (ms < 1000) return `${Math.round(ms)}ms`
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)}s`
  if (ms < 3_600_000) return `${Math.floor(ms / 60_000)}m${Math.floor((ms % 60_000) / 1000)}s`
  return `${Math.floor(ms / 3_600_000)}h${Math.floor((ms % 3_600_000) / 60_000)}m`
}
