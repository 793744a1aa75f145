import {KeySpace, parseMember, parseTableMember} from '../buffer/keys.js'
import {readRollback, type RollbackRecord} from '../buffer/rollback.js'
import {stepsFor} from '../buffer/steps/index.js'
import {targetMatcher, type TargetFilter} from '../buffer/target-filter.js'
import type {Ipc} from '../ipc/types.js'

export interface TableStatus {
  connection: string
  table: string
  counters: {rows: number; keys: number}
  updates: {rows: number}
  inserts: {rows: number}
  inflight: {batches: number}
  deadLetters: number
  /** Age of the oldest pending or in-flight entry; null when nothing is pending (or its age is unknown). */
  oldestPendingMs: number | null
  /** Present when the table's last batch could not get at its rows (another session held them past the time limit). */
  blocked?: {reason: string; at: number}
}

export interface LeaseStatus {
  /** The holder's token; null for a lock written by ODAC (owner unknown). */
  owner: string | null
  host: string | null
  pid: number | null
  fence: number | null
  ageMs: number | null
  ttlMs: number | null
}

/** A state key that cannot be flushed as it is, or one already quarantined under `{prefix}:bad:`. */
export interface BadKey {
  key: string
  problem: string
}

/** At most this many bad keys are listed; `badKeysTotal` counts them all. */
export const BAD_KEYS_LISTED = 100

export interface StatusReport {
  driver: 'memory' | 'redis'
  prefix: string
  target: string
  tables: TableStatus[]
  badKeys: BadKey[]
  badKeysTotal: number
  lease: LeaseStatus | null
  lastFlush: Record<string, unknown> | null
  /** Set when a flush found the state store behind the database: flushing is refused until `wbc recover --after-rollback`. */
  rollback?: RollbackRecord | null
}

export type StatusFilter = TargetFilter

const PAGE = 5000

/**
 * What is pending, per table, read a page at a time (SSCAN): nothing loads a whole index or queue
 * in one call. Counter rows are distinct row keys; counter keys are (row, column) pairs.
 */
export async function readStatus(ipc: Ipc, prefix: string, filter: StatusFilter = {}, now = Date.now()): Promise<StatusReport> {
  const keys = new KeySpace(prefix)
  const tables = new Map<string, TableStatus & {rowKeys: Set<string>; oldestAt: number | null}>()
  const matches = targetMatcher(filter)
  const entry = (connection: string, table: string) => {
    const id = `${connection}:${table}`
    let status = tables.get(id)
    if (!status) {
      status = {
        connection,
        table,
        counters: {rows: 0, keys: 0},
        updates: {rows: 0},
        inserts: {rows: 0},
        inflight: {batches: 0},
        deadLetters: 0,
        oldestPendingMs: null,
        rowKeys: new Set(),
        oldestAt: null,
      }
      tables.set(id, status)
    }
    return status
  }

  const bad: BadKey[] = []
  let badTotal = 0
  const badKey = (key: string, problem: string) => {
    if (++badTotal <= BAD_KEYS_LISTED) bad.push({key, problem})
  }
  const unreadable = (key: string) => (error: unknown) => {
    badKey(key, (error as Error).message)
    return null
  }
  const unparsed = (kind: string, member: string) => badKey(keys.pending(kind as 'c' | 'u' | 'q' | 'if', member), `listed in ${prefix}:idx but its name does not parse; the next flush quarantines it`)

  await scanSet(ipc, keys.countersIndex, (member) => {
    const parsed = parseMember(member, true)
    if (!parsed) return unparsed('c', member)
    if (!matches(parsed.connection, parsed.table)) return
    const status = entry(parsed.connection, parsed.table)
    status.counters.keys++
    status.rowKeys.add(parsed.where)
  })
  await scanSet(ipc, keys.updatesIndex, (member) => {
    const parsed = parseMember(member, false)
    if (!parsed) return unparsed('u', member)
    if (matches(parsed.connection, parsed.table)) entry(parsed.connection, parsed.table).updates.rows++
  })
  const queues: string[] = []
  await scanSet(ipc, keys.queuesIndex, (member) => {
    queues.push(member)
  })
  for (const member of new Set(queues)) {
    const parsed = parseTableMember(member)
    if (!parsed) unparsed('q', member)
    if (!parsed || !matches(parsed.connection, parsed.table)) continue
    const rows = await ipc.llen(keys.queue(member)).catch(unreadable(keys.queue(member)))
    if (rows) entry(parsed.connection, parsed.table).inserts.rows = rows
  }
  const batchIds: string[] = []
  await scanSet(ipc, keys.inflightIndex, (id) => {
    batchIds.push(id)
  })
  for (const id of new Set(batchIds)) {
    // Rows unchecked: a batch whose bad rows the next flush sets aside is still this table's batch.
    const batch = await stepsFor(ipc)
      .readBatch(keys.prefix, id, {rows: false})
      .catch(unreadable(keys.batch(id)))
    if (batch === null) continue
    const parsed = parseTableMember(batch.table)
    if (!parsed || !matches(parsed.connection, parsed.table)) continue
    const status = entry(parsed.connection, parsed.table)
    status.inflight.batches++
    status.oldestAt = Math.min(status.oldestAt ?? batch.createdAt, batch.createdAt)
  }
  for (const member of await ipc.smembers(keys.deadLettersIndex)) {
    const parsed = parseTableMember(member)
    if (!parsed || !matches(parsed.connection, parsed.table)) continue
    const count = await ipc.hlen(keys.deadLetters(member)).catch(unreadable(keys.deadLetters(member)))
    if (count) entry(parsed.connection, parsed.table).deadLetters = count
  }

  const blocked: Record<string, unknown> = (await ipc.hgetall(keys.blocked).catch(unreadable(keys.blocked))) ?? {}
  const list: TableStatus[] = []
  for (const [id, status] of [...tables.entries()].sort(([a], [b]) => (a < b ? -1 : 1))) {
    status.counters.rows = status.rowKeys.size
    const pending = status.counters.keys + status.updates.rows + status.inserts.rows
    if (pending > 0) {
      const age = await ipc.hgetall(keys.age(id)).catch(unreadable(keys.age(id)))
      const since = Number(age?.since ?? NaN)
      if (Number.isFinite(since)) status.oldestAt = Math.min(status.oldestAt ?? since, since)
    }
    const {rowKeys: _rows, oldestAt, ...rest} = status
    const block = blockedRecord(blocked[id])
    list.push({...rest, oldestPendingMs: oldestAt === null ? null : Math.max(0, now - oldestAt), ...(block ? {blocked: block} : {})})
  }

  for (const [field, raw] of Object.entries((await ipc.hgetall(keys.badIndex).catch(unreadable(keys.badIndex))) ?? {})) {
    // A record {reason, at}; older state (and other writers) may hold its JSON text.
    let reason = typeof raw === 'string' ? raw : JSON.stringify(raw)
    try {
      const record = (typeof raw === 'string' ? JSON.parse(raw) : raw) as {reason?: unknown} | null
      if (record && typeof record.reason === 'string') reason = record.reason
    } catch {
      // Kept as written.
    }
    badKey(keys.bad(field), `quarantined: ${reason}`)
  }

  return {driver: ipc.driver, prefix, target: ipc.address, tables: list, badKeys: bad, badKeysTotal: badTotal, ...(await readLeaseAndLastFlush(ipc, prefix, now))}
}

/** The cheap part of a status: the flush lease, the last flush and the rollback flag (three reads). */
export async function readLeaseAndLastFlush(ipc: Ipc, prefix: string, now = Date.now()): Promise<Pick<StatusReport, 'lease' | 'lastFlush' | 'rollback'>> {
  const keys = new KeySpace(prefix)
  const lock = await ipc.inspectLock(keys.flushLock)
  const lastFlush = await ipc.get(keys.lastFlush).catch(() => null)
  const rollback = await readRollback(ipc, prefix).catch(() => null)
  return {
    rollback,
    lease: lock ? {owner: lock.token, host: lock.host, pid: lock.pid, fence: lock.fence, ageMs: lock.acquiredAt === null ? null : Math.max(0, now - lock.acquiredAt), ttlMs: lock.ttlLeftMs} : null,
    lastFlush: lastFlush && typeof lastFlush === 'object' && !Array.isArray(lastFlush) ? (lastFlush as Record<string, unknown>) : null,
  }
}

async function scanSet(ipc: Ipc, key: string, visit: (member: string) => void): Promise<void> {
  const seen = new Set<string>()
  let cursor = '0'
  do {
    const page = await ipc.sscan(key, cursor, PAGE)
    for (const member of page.items) {
      // SSCAN may return a member twice; count it once.
      if (seen.has(member)) continue
      seen.add(member)
      visit(member)
    }
    cursor = page.cursor
  } while (cursor !== '0')
}

export interface ThresholdBreach {
  connection: string
  table: string
  check: 'max-pending' | 'max-age'
  value: number
  limit: number
}

/** The health check: tables over `maxPending` pending rows or with entries older than `maxAgeMs`. */
export function breaches(report: StatusReport, limits: {maxPending?: number; maxAgeMs?: number}): ThresholdBreach[] {
  const out: ThresholdBreach[] = []
  for (const t of report.tables) {
    const pending = t.counters.rows + t.updates.rows + t.inserts.rows
    if (limits.maxPending !== undefined && pending > limits.maxPending) out.push({connection: t.connection, table: t.table, check: 'max-pending', value: pending, limit: limits.maxPending})
    if (limits.maxAgeMs !== undefined && t.oldestPendingMs !== null && t.oldestPendingMs > limits.maxAgeMs) {
      out.push({connection: t.connection, table: t.table, check: 'max-age', value: t.oldestPendingMs, limit: limits.maxAgeMs})
    }
  }
  return out
}

/** A `{prefix}:blocked` field as written by the flusher (JSON text on some drivers), or null when unreadable. */
function blockedRecord(raw: unknown): {reason: string; at: number} | null {
  let value = raw
  if (typeof value === 'string') {
    try {
      value = JSON.parse(value) as unknown
    } catch {
      return {reason: value as string, at: 0}
    }
  }
  if (!value || typeof value !== 'object') return null
  const {reason, at} = value as {reason?: unknown; at?: unknown}
  return {reason: String(reason ?? 'blocked'), at: Number.isFinite(Number(at)) ? Number(at) : 0}
}
