import type {KeySpace} from '../../keys.js'
import {tableOf} from './checks.js'

/** The state keys an increment of one counter member touches. */
export interface CounterKeys {
  counter: string
  base: string
  /** `{connection}:{table}`. */
  table: string
  age: string
  stats: string
  generation: string
}

/** Members whose keys are kept, over every prefix: a hot set of counters, bounded in memory (dropped whole when full). */
const MAX_MEMBERS = 50_000
const known = new Map<KeySpace, Map<string, CounterKeys>>()
let kept = 0

/**
 * A counter member's keys, built once: a key string that is used again keeps its hash, while a
 * freshly joined one is flattened and hashed on every store lookup (several times the cost of
 * the lookup itself, measured), and an increment looks up about ten keys.
 */
export function counterKeys(keys: KeySpace, member: string): CounterKeys {
  let found = known.get(keys)?.get(member)
  if (!found) {
    if (kept >= MAX_MEMBERS) {
      known.clear()
      kept = 0
    }
    let members = known.get(keys)
    if (!members) known.set(keys, (members = new Map()))
    kept++
    const table = tableOf(member)
    found = {counter: keys.counter(member), base: keys.base(member), table, age: keys.age(table), stats: keys.stats(table), generation: keys.generation(table)}
    members.set(member, found)
  }
  return found
}
