import type {StreamPolicyInput} from '../config/schema.js'
import {parseDuration} from '../duration.js'
import {globToRegExp} from '../ipc/memory/glob.js'

export interface StreamPolicy {
  keepKey?: string
  maxCount?: number
  maxAgeMs?: number
  timeField: string
}

/** The engine's own event stream stays bounded with no configuration. */
export const DEFAULT_EVENTS_POLICY: StreamPolicy = {maxCount: 1000, maxAgeMs: 7 * 24 * 3600 * 1000, timeField: 'at'}
export const EVENTS_STREAM = 'events'

export function toPolicy(input: StreamPolicyInput): StreamPolicy {
  return {
    keepKey: input.keepKey,
    maxCount: input.maxCount,
    maxAgeMs: input.maxAge === undefined ? undefined : typeof input.maxAge === 'number' ? input.maxAge : parseDuration(input.maxAge, 'maxAge'),
    timeField: input.timeField ?? 'at',
  }
}

/** The policy in force for a stream: an exact name first, then the first matching glob; events have a default. */
export function policyFor(name: string, configured: Record<string, StreamPolicyInput>): StreamPolicy | null {
  if (configured[name]) return toPolicy(configured[name])
  for (const [pattern, policy] of Object.entries(configured)) if (globToRegExp(pattern).test(name)) return toPolicy(policy)
  return name === EVENTS_STREAM ? DEFAULT_EVENTS_POLICY : null
}

export const isEmptyPolicy = (policy: StreamPolicy) => policy.keepKey === undefined && policy.maxCount === undefined && policy.maxAgeMs === undefined

/** An entry's time from its time field: milliseconds, or a date string; null when it has none. */
export function entryTime(entry: unknown, field: string): number | null {
  if (!entry || typeof entry !== 'object' || Array.isArray(entry)) return null
  const value = (entry as Record<string, unknown>)[field]
  if (typeof value === 'number' && Number.isFinite(value)) return value
  if (typeof value === 'string') {
    const parsed = Date.parse(value)
    return Number.isNaN(parsed) ? null : parsed
  }
  return null
}
