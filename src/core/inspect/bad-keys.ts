import {KeySpace, parseMember} from '../buffer/keys.js'
import {badRowsOf, stepsFor} from '../buffer/steps/index.js'
import {fieldsProblem, rowProblem, whereProblem} from '../buffer/names.js'
import type {Ipc, Json} from '../ipc/types.js'
import {BAD_KEYS_LISTED, readStatus, type BadKey} from './status.js'

const PAGE = 1000

export interface BadKeyScan {
  badKeys: BadKey[]
  total: number
}

const isNumber = (value: Json | null) => typeof value === 'number' && Number.isFinite(value)

/**
 * What `wbc doctor` reports about the state: everything the status walk finds (names that do not
 * parse, unreadable keys, quarantined keys, in-flight batches with bad names) plus what only the
 * values or a closer look at the names show: counters that are not numbers, wheres that are not a
 * flat object of column names and scalars, update fields and queued rows' columns that are not
 * identifiers, keys that cannot be read. Reads a page of keys at a time, in parallel within the page.
 */
export async function scanBadKeys(ipc: Ipc, prefix: string): Promise<BadKeyScan> {
  const keys = new KeySpace(prefix)
  const status = await readStatus(ipc, prefix)
  const badKeys = [...status.badKeys]
  let total = status.badKeysTotal
  const add = (key: string, problem: string) => {
    if (++total <= BAD_KEYS_LISTED) badKeys.push({key, problem})
  }
  const check = async (key: string, read: () => Promise<string | null>) => {
    try {
      const problem = await read()
      if (problem) add(key, `${problem}; the next flush quarantines it`)
    } catch (error) {
      add(key, `${(error as Error).message}; the next flush quarantines it`)
    }
  }

  await eachPage(ipc, keys.countersIndex, async (member) => {
    const parsed = parseMember(member, true)
    if (!parsed) return
    const key = keys.counter(member)
    return check(key, async () => {
      const value = await ipc.get(key)
      if (value === null) return null
      return whereProblem(parsed.where) ?? (isNumber(value) ? null : `holds ${JSON.stringify(value).slice(0, 40)}, not a number`)
    })
  })
  await eachPage(ipc, keys.updatesIndex, async (member) => {
    const parsed = parseMember(member, false)
    if (!parsed) return
    const key = keys.update(member)
    return check(key, async () => {
      const fields = await ipc.hgetall(key)
      if (fields === null) return null
      return whereProblem(parsed.where) ?? fieldsProblem(Object.keys(fields))
    })
  })
  for (const table of await ipc.smembers(keys.queuesIndex)) {
    const key = keys.queue(table)
    await check(key, async () => {
      const length = await ipc.llen(key)
      for (let start = 0; start < length; start += PAGE) {
        const rows = await ipc.lrange(key, start, start + PAGE - 1)
        const problems = rows.map(rowProblem)
        const at = problems.findIndex((problem) => problem)
        if (at >= 0) return `row ${start + at} ${problems[at]!.reason}`
      }
      return null
    })
  }
  // A batch in flight whose only bad content is queued rows (the status walk names the others).
  for (const id of await ipc.smembers(keys.inflightIndex)) {
    const batch = await stepsFor(ipc)
      .readBatch(prefix, id, {rows: false})
      .catch(() => null)
    const bad = batch && badRowsOf(batch)
    if (!bad) continue
    const first = rowProblem(batch.inserts[bad.positions[0]])!
    add(
      keys.batch(id),
      `queued row ${bad.positions[0]} ${first.reason} (${bad.positions.length} such row(s)); the next flush sets them aside and applies the rest (a batch not written by wbc's claim is set aside whole)`,
    )
  }
  return {badKeys, total}
}

async function eachPage(ipc: Ipc, index: string, visit: (member: string) => Promise<void>): Promise<void> {
  let cursor = '0'
  do {
    const page = await ipc.sscan(index, cursor, PAGE)
    await Promise.all(page.items.map(visit))
    cursor = page.cursor
  } while (cursor !== '0')
}
