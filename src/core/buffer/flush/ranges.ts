import type {Dialect} from '../../config/connections.js'
import {RowsNotFound} from '../../sql/apply.js'
import type {LedgerRange} from '../../sql/ledger.js'
import {describeRefusal, type Refusal} from '../../sql/refusal.js'
import type {Entry} from '../entries.js'

// The pure arithmetic of applying a batch in ranges of its entries ([lo, hi), 0-based): what is
// left to apply after the ledger, how a refused range splits, and what a `dead` range stands for.

/** The reason a single entry was refused, reason first; the statement apart. */
export function refusalOf(error: unknown, dialect: Dialect): {reason: Refusal; statement: string | null} {
  if (error instanceof RowsNotFound) return {reason: {code: null, constraint: null, message: 'no row matches this key (an UPDATE would change nothing)'}, statement: null}
  const {refusal, statement} = describeRefusal(error, dialect)
  return {reason: refusal, statement}
}

/** Splits a failing range: around the known bad entries, else in halves. */
export function split(range: {lo: number; hi: number}, bad: number[] | null): Array<{lo: number; hi: number}> {
  if (!bad || bad.length === 0) {
    const mid = range.lo + Math.floor((range.hi - range.lo) / 2)
    return [
      {lo: range.lo, hi: mid},
      {lo: mid, hi: range.hi},
    ]
  }
  const parts: Array<{lo: number; hi: number}> = []
  let start = range.lo
  for (const index of bad) {
    if (index > start) parts.push({lo: start, hi: index})
    parts.push({lo: index, hi: index + 1})
    start = index + 1
  }
  if (start < range.hi) parts.push({lo: start, hi: range.hi})
  return parts
}

/** The ranges of a batch of `length` entries that no ledger row covers, in order. */
export function pendingRanges(length: number, done: LedgerRange[]): Array<{lo: number; hi: number}> {
  const sorted = [...done].sort((a, b) => a.lo - b.lo)
  const pending: Array<{lo: number; hi: number}> = []
  let at = 0
  for (const range of sorted) {
    if (range.lo > at) pending.push({lo: at, hi: range.lo})
    at = Math.max(at, range.hi)
  }
  if (at < length) pending.push({lo: at, hi: length})
  return pending
}

/** Whether any ledger row shares an entry with `range`. */
export const overlaps = (range: {lo: number; hi: number}, done: LedgerRange[]) => done.some((d) => d.lo < range.hi && range.lo < d.hi)

/** The counter members of the entries in `dead` ledger ranges: the ack leaves their deltas out of the cached bases (they never reached the database). */
export function deadMembers(entries: Entry[], ranges: LedgerRange[]): string[] {
  const members: string[] = []
  for (const range of ranges) {
    if (range.outcome !== 'dead') continue
    for (let i = range.lo; i < range.hi; i++) {
      const entry = entries[i]
      if (entry?.kind === 'counter') members.push(...entry.members)
    }
  }
  return members
}
