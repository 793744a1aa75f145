import type {DemoTotals} from './traffic.js'

export interface DemoResult {
  seconds: number
  written: DemoTotals & {updates: number}
  database: {before: DemoTotals; after: DemoTotals}
  verified: boolean
  /** Writes of this run the database refused (dead letters), per demo table, with the first reason. */
  deadLetters: Array<{table: string; count: number; firstError: string}>
}

export interface DemoDifference {
  name: keyof DemoTotals
  written: number
  /** What the database gained during the run. */
  stored: number
}

const COUNTED = ['views', 'likes', 'activity'] as const

/** The demo's verdict: what the database gained against what was written, per counted figure. */
export function demoDifferences(written: DemoTotals, before: DemoTotals, after: DemoTotals): DemoDifference[] {
  return COUNTED.map((name) => ({name, written: written[name], stored: after[name] - before[name]})).filter((d) => d.stored !== d.written)
}
