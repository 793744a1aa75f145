import {KeySpace, parseMember} from '../buffer/keys.js'
import type {Ipc, Json} from '../ipc/types.js'
import {BAD_KEYS_LISTED, readStatus, type BadKey} from './status.js'

const PAGE = 1000

export interface BadKeyScan {
  badKeys: BadKey[]
  total: number
}

const isNumber = (value: Json | null) => typeof value === 'number' && Number.isFinite(value)
const isRow = (value: Json) => value !== null && typeof value === 'object' && !Array.isArray(value)

/**
 * What `wbc doctor` reports about the state: everything the status walk finds (names that do not
 * parse, unreadable keys, quarantined keys) plus the values themselves: counters that are not
 * numbers, update hashes and queues that cannot be read or hold rows that are not objects. Reads
 * a page of keys at a time, in parallel within the page.
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

  await eachPage(ipc, keys.countersIndex, (member) => {
    if (!parseMember(member, true)) return null
    const key = keys.counter(member)
    return check(key, async () => {
      const value = await ipc.get(key)
      return value === null || isNumber(value) ? null : `holds ${JSON.stringify(value).slice(0, 40)}, not a number`
    })
  })
  await eachPage(ipc, keys.updatesIndex, (member) => {
    if (!parseMember(member, false)) return null
    const key = keys.update(member)
    return check(key, async () => {
      await ipc.hgetall(key)
      return null
    })
  })
  for (const table of await ipc.smembers(keys.queuesIndex)) {
    const key = keys.queue(table)
    await check(key, async () => {
      const length = await ipc.llen(key)
      for (let start = 0; start < length; start += PAGE) {
        const rows = await ipc.lrange(key, start, start + PAGE - 1)
        const at = rows.findIndex((row) => !isRow(row))
        if (at >= 0) return `row ${start + at} is ${JSON.stringify(rows[at]).slice(0, 40)}, not an object`
      }
      return null
    })
  }
  return {badKeys, total}
}

async function eachPage(ipc: Ipc, index: string, visit: (member: string) => Promise<void> | null): Promise<void> {
  let cursor = '0'
  do {
    const page = await ipc.sscan(index, cursor, PAGE)
    await Promise.all(page.items.map(visit))
    cursor = page.cursor
  } while (cursor !== '0')
}
