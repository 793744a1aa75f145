/**
 * Compares the database with what the writers logged. Acknowledged writes must be there exactly
 * once; writes whose outcome was unknown (the request failed in flight) may be there once or not
 * at all, and nothing else may be.
 */
import {readFileSync} from 'node:fs'

import type {Knex} from 'knex'

import type {LogEntry} from './writer-loop.js'

export interface Verdict {
  ops: number
  acknowledged: number
  ambiguous: number
  lost: number
  duplicated: number
  wrong: number
  /** The first differences, described for a reader. */
  differences: string[]
}

interface Expectation {
  counters: Map<number, {ok: number; maybe: number}>
  /** Per row: the values it may hold (the last acknowledged one, and unknown ones written after it). */
  titles: Map<number, {last: string | null; after: Set<string>}>
  inserts: Map<string, {outcome: 'ok' | '?'; action: string}>
  /** Per pair row `{shop}|{code}`: acknowledged and unknown-outcome increments. */
  pairs: Map<string, {ok: number; maybe: number}>
  ops: number
  acknowledged: number
  ambiguous: number
}

/** The DEFAULT of the log table's `action` column (rows that leave it out must get it). */
export const ACTION_DEFAULT = 'dflt'

export function expectationOf(logFiles: string[]): Expectation {
  const e: Expectation = {counters: new Map(), titles: new Map(), inserts: new Map(), pairs: new Map(), ops: 0, acknowledged: 0, ambiguous: 0}
  for (const file of logFiles) {
    for (const line of readFileSync(file, 'utf8').split('\n')) {
      if (!line) continue
      const entry = JSON.parse(line) as LogEntry
      e.ops++
      if (entry.r === 'no') continue
      if (entry.r === 'ok') e.acknowledged++
      else e.ambiguous++
      if (entry.k === 'i') {
        const c = e.counters.get(entry.id) ?? {ok: 0, maybe: 0}
        if (entry.r === 'ok') c.ok += entry.d
        else c.maybe += entry.d
        e.counters.set(entry.id, c)
      } else if (entry.k === 'u') {
        // Each row is updated by one loop only, in order: the log order is the write order.
        const t = e.titles.get(entry.id) ?? {last: null, after: new Set<string>()}
        if (entry.r === 'ok') {
          t.last = entry.v
          t.after.clear()
        } else t.after.add(entry.v)
        e.titles.set(entry.id, t)
      } else if (entry.k === 'p') {
        const key = `${entry.s}|${entry.c}`
        const c = e.pairs.get(key) ?? {ok: 0, maybe: 0}
        if (entry.r === 'ok') c.ok += entry.d
        else c.maybe += entry.d
        e.pairs.set(key, c)
      } else {
        e.inserts.set(`${entry.u}:${entry.s}`, {outcome: entry.r === 'ok' ? 'ok' : '?', action: entry.o ? ACTION_DEFAULT : 'chaos'})
      }
    }
  }
  return e
}

export async function verify(knex: Knex, posts: string, log: string, logFiles: string[]): Promise<Verdict> {
  const e = expectationOf(logFiles)
  const v: Verdict = {ops: e.ops, acknowledged: e.acknowledged, ambiguous: e.ambiguous, lost: 0, duplicated: 0, wrong: 0, differences: []}
  const note = (kind: 'lost' | 'duplicated' | 'wrong', detail: string) => {
    v[kind]++
    if (v.differences.length < 20) v.differences.push(`${kind}: ${detail}`)
  }

  const rows = await knex(posts).select('id', 'views', 'title').orderBy('id')
  for (const row of rows) {
    const id = Number(row.id)
    const views = Number(row.views)
    const c = e.counters.get(id) ?? {ok: 0, maybe: 0}
    if (views < c.ok) note('lost', `${posts} id ${id}: views ${views}, acknowledged increments add up to ${c.ok}`)
    else if (views > c.ok + c.maybe) note('duplicated', `${posts} id ${id}: views ${views}, at most ${c.ok + c.maybe} was written`)
    const t = e.titles.get(id)
    const title = row.title === null ? null : String(row.title)
    if (!t) {
      if (title !== null) note('wrong', `${posts} id ${id}: title ${title} was never written`)
    } else if (title !== t.last && !(title !== null && t.after.has(title))) {
      if (title === null || t.last === null) note(title === null ? 'lost' : 'wrong', `${posts} id ${id}: title ${title}, expected ${t.last}`)
      else note('wrong', `${posts} id ${id}: title ${title}, expected ${t.last}${t.after.size ? ` or one of ${[...t.after].join(', ')}` : ''}`)
    }
  }

  if (await knex.schema.hasTable('pairs')) {
    // Keys read as text: char(n) comes back padded on some dialects.
    for (const row of await knex('pairs').select('shop', 'code', 'hits')) {
      const key = `${Number(row.shop)}|${String(row.code).trimEnd()}`
      const hits = Number(row.hits)
      const c = e.pairs.get(key) ?? {ok: 0, maybe: 0}
      if (hits < c.ok) note('lost', `pairs ${key}: hits ${hits}, acknowledged increments add up to ${c.ok}`)
      else if (hits > c.ok + c.maybe) note('duplicated', `pairs ${key}: hits ${hits}, at most ${c.ok + c.maybe} was written`)
    }
  }

  const seen = new Map<string, number>()
  for (const row of await knex(log).select('user_id', 'seq', 'action')) {
    const key = `${row.user_id}:${row.seq}`
    seen.set(key, (seen.get(key) ?? 0) + 1)
    const expected = e.inserts.get(key)
    if (expected && row.action !== expected.action) note('wrong', `${log} row ${key}: action ${row.action}, expected ${expected.action}`)
  }
  for (const [key, count] of seen) {
    if (!e.inserts.has(key)) note('wrong', `${log} row ${key} was never written`)
    else if (count > 1) note('duplicated', `${log} row ${key} is there ${count} times`)
  }
  for (const [key, expected] of e.inserts) {
    if (expected.outcome === 'ok' && !seen.has(key)) note('lost', `${log} row ${key} is missing`)
  }
  return v
}
