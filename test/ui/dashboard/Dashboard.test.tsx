import {render} from 'ink-testing-library'
import {afterEach, describe, expect, it, vi} from 'vitest'

import type {DeadLetter} from '../../../src/core/buffer/dead-letters.js'
import type {FlushReport} from '../../../src/core/buffer/flusher.js'
import type {TableStatus} from '../../../src/core/inspect/status.js'
import {Dashboard} from '../../../src/ui/dashboard/Dashboard.js'
import type {DashboardSnapshot, DashboardSource} from '../../../src/ui/dashboard/source.js'

const table = (name: string, counters: number, extra: Partial<TableStatus> = {}): TableStatus => ({
  connection: 'default',
  table: name,
  counters: {rows: counters, keys: counters},
  updates: {rows: 0},
  inserts: {rows: 0},
  inflight: {batches: 0},
  deadLetters: 0,
  oldestPendingMs: 1500,
  ...extra,
})

function snapshot(tables: TableStatus[], at = Date.now()): DashboardSnapshot {
  return {
    at,
    status: {driver: 'redis', prefix: 'wb', target: 'redis://127.0.0.1:6379', tables, badKeys: [], badKeysTotal: 0, lease: null, lastFlush: null},
    totals: Object.fromEntries(tables.map((t) => [`default:${t.table}`, {writes: 100, flushed: 50}])),
    locks: [{key: 'wb:lock:flush', owner: 'tok', host: 'web1', pid: 4242, alive: true, ageMs: 2000, ttlMs: 8000, fence: 7, legacy: false}],
  }
}

const letter: DeadLetter = {
  id: 'b1:3',
  connection: 'default',
  table: 'posts',
  kind: 'insert',
  entry: {row: {user_id: null}},
  error: 'NOT NULL constraint failed',
  at: 1,
  reason: {code: null, constraint: null, message: 'NOT NULL constraint failed'},
  statement: null,
  attempts: null,
}
const report = (table: string): FlushReport => ({
  status: 'ok',
  quarantined: [],
  startedAt: 0,
  durationMs: 12,
  fence: 3,
  tables: [{connection: 'default', table, counters: 42, updates: 0, inserts: 0, deadLettered: 0, batches: 1, recovered: 0}],
})

function fakeSource(overrides: Partial<DashboardSource> = {}) {
  const source = {
    read: vi.fn(async () => snapshot([table('comments', 5), table('posts', 42, {deadLetters: 1})])),
    deadLetters: vi.fn(async () => [letter]),
    flush: vi.fn(async (filter: {table?: string}) => report(filter.table ?? 'posts')),
    releaseLock: vi.fn(async (key: string, force: boolean) => ({key, released: true, previous: null, forced: force})),
    retryDeadLetter: vi.fn(async () => 1),
    dropDeadLetter: vi.fn(async () => 1),
    streams: vi.fn(async () => [
      {name: 'events', key: 'wb:events', kind: 'events' as const, length: 812, oldestAgeMs: 1000, newestAgeMs: 10, approxBytes: 9000, policy: {maxCount: 1000, timeField: 'at'}},
      {name: 'q:default:log', key: 'wb:q:default:log', kind: 'queue' as const, length: 40, oldestAgeMs: 500, newestAgeMs: 5, approxBytes: 900, policy: null},
    ]),
    events: vi.fn(async () => [{at: 0, type: 'flush', status: 'ok', rows: 840, deadLettered: 0, recovered: 1, errors: []}]),
    compact: vi.fn(async () => ({key: 'wb:events', dryRun: false, examined: 812, removed: 12, kept: 800, archive: null})),
    close: vi.fn(async () => {}),
    ...overrides,
  }
  return source
}

const tick = (ms = 30) => new Promise((resolve) => setTimeout(resolve, ms))
async function frameWith(app: ReturnType<typeof render>, text: string): Promise<string> {
  for (let i = 0; i < 100; i++) {
    const frame = app.lastFrame() ?? ''
    if (frame.includes(text)) return frame
    await tick(20)
  }
  throw new Error(`no frame with "${text}"; last:\n${app.lastFrame()}`)
}

let app: ReturnType<typeof render> | undefined
afterEach(() => app?.unmount())

describe('Dashboard', () => {
  it('shows the tables, the header and key hints within 80x24', async () => {
    const source = fakeSource()
    app = render(<Dashboard source={source} intervalMs={60_000} size={{columns: 80, rows: 24}} />)
    const frame = await frameWith(app, 'posts')
    expect(frame).toContain('wbc redis redis://127.0.0.1:6379 prefix wb')
    expect(frame).toContain('lease free')
    expect(frame).toContain('comments')
    for (const line of frame.split('\n')) expect(line.length).toBeLessThanOrEqual(80)
    expect(frame.split('\n').length).toBeLessThanOrEqual(24)
  })

  it('truncates long table names instead of wrapping', async () => {
    const long = 'a_table_with_a_really_extraordinarily_long_name_indeed'
    app = render(<Dashboard source={fakeSource({read: async () => snapshot([table(long, 1)])})} intervalMs={60_000} size={{columns: 80, rows: 24}} />)
    const frame = await frameWith(app, 'a_table_with')
    expect(frame).not.toContain(long)
    expect(frame).toContain('…')
    for (const line of frame.split('\n')) expect(line.length).toBeLessThanOrEqual(80)
  })

  it('f asks before flushing the selected table, then flushes exactly that table and reports in place', async () => {
    const source = fakeSource()
    app = render(<Dashboard source={source} intervalMs={60_000} />)
    await frameWith(app, 'posts')
    app.stdin.write('\u001B[B') // ↓ to posts
    app.stdin.write('f')
    await frameWith(app, 'Flush posts? (y/n)')
    expect(source.flush).not.toHaveBeenCalled()
    app.stdin.write('y')
    await frameWith(app, 'flushed posts: 42 rows (ok)')
    expect(source.flush).toHaveBeenCalledTimes(1)
    expect(source.flush).toHaveBeenCalledWith({connection: 'default', table: 'posts'})
  })

  it('any answer but y cancels; F flushes all after confirmation', async () => {
    const source = fakeSource()
    app = render(<Dashboard source={source} intervalMs={60_000} />)
    await frameWith(app, 'posts')
    app.stdin.write('f')
    await frameWith(app, '(y/n)')
    app.stdin.write('n')
    await frameWith(app, 'cancelled')
    expect(source.flush).not.toHaveBeenCalled()
    app.stdin.write('F')
    await frameWith(app, 'Flush all tables? (y/n)')
    app.stdin.write('y')
    await frameWith(app, 'flushed 42 rows in 1 tables')
    expect(source.flush).toHaveBeenCalledWith({})
  })

  it('releasing a live holder’s lock asks for a forced release, then forces it', async () => {
    const source = fakeSource()
    app = render(<Dashboard source={source} intervalMs={60_000} />)
    await frameWith(app, 'posts')
    app.stdin.write('l')
    await frameWith(app, 'web1:4242')
    app.stdin.write('r')
    await frameWith(app, 'may be alive (web1 pid 4242). FORCE release? (y/n)')
    app.stdin.write('y')
    await frameWith(app, 'released wb:lock:flush (forced')
    expect(source.releaseLock).toHaveBeenCalledWith('wb:lock:flush', true)
  })

  it('d shows the dead letters of the selected table; R retries and x drops after confirmation', async () => {
    const source = fakeSource()
    app = render(<Dashboard source={source} intervalMs={60_000} />)
    await frameWith(app, 'posts')
    app.stdin.write('\u001B[B')
    app.stdin.write('d')
    await frameWith(app, 'NOT NULL constraint failed')
    expect(source.deadLetters).toHaveBeenCalledWith('default', 'posts')
    app.stdin.write('R')
    await frameWith(app, 'Retry dead letter b1:3 of default:posts? (y/n)')
    app.stdin.write('y')
    await frameWith(app, 'retried 1 dead letter')
    expect(source.retryDeadLetter).toHaveBeenCalledWith('default', 'posts', 'b1:3')
    app.stdin.write('x')
    await frameWith(app, 'Drop for good dead letter b1:3 of default:posts? (y/n)')
    app.stdin.write('y')
    await frameWith(app, 'dropped 1 dead letter')
    expect(source.dropDeadLetter).toHaveBeenCalledWith('default', 'posts', 'b1:3')
  })

  it('shows a failing service as a banner with attempts, keeps the last data, and recovers', async () => {
    let down = false
    const good = fakeSource()
    const source = fakeSource({
      read: vi.fn(async () => {
        if (down) throw new Error('Redis at redis://127.0.0.1:6379 is unreachable: connection refused')
        return good.read()
      }),
    })
    app = render(<Dashboard source={source} intervalMs={40} />)
    await frameWith(app, 'posts')
    down = true
    const frame = await frameWith(app, 'attempt 2')
    expect(frame).toContain('unreachable: connection refused')
    expect(frame).toContain('posts')
    down = false
    await tick(150)
    expect(app.lastFrame()).not.toContain('attempt')
    app.stdin.write('e')
    await frameWith(app, 'reconnected after')
    await frameWith(app, '00:00:00 flush ok: 840 rows, 0 dead-lettered, 1 recovered')
  })

  it('s lists the streams; c compacts the selected one with its policy after confirmation, and refuses one without', async () => {
    const source = fakeSource()
    app = render(<Dashboard source={source} intervalMs={60_000} />)
    await frameWith(app, 'posts')
    app.stdin.write('s')
    await frameWith(app, 'q:default:log')
    app.stdin.write('c')
    await frameWith(app, 'Compact events with its policy? (y/n)')
    app.stdin.write('y')
    await frameWith(app, 'compacted events: removed 12, kept 800')
    expect(source.compact).toHaveBeenCalledWith('events')
    app.stdin.write('\u001B[B')
    app.stdin.write('c')
    await frameWith(app, 'q:default:log has no compaction policy')
    expect(source.compact).toHaveBeenCalledTimes(1)
  })

  it('p pauses the refresh and resumes it', async () => {
    const source = fakeSource()
    app = render(<Dashboard source={source} intervalMs={30} />)
    await frameWith(app, 'live')
    app.stdin.write('p')
    await frameWith(app, 'PAUSED')
    const read = vi.mocked(source.read)
    const calls = read.mock.calls.length
    await tick(150)
    expect(read.mock.calls.length).toBe(calls)
    app.stdin.write('p')
    await frameWith(app, 'live')
    await tick(100)
    expect(read.mock.calls.length).toBeGreaterThan(calls)
  })

  it('computes rates from the totals between refreshes', async () => {
    let n = 0
    const source = fakeSource({
      read: async () => {
        n++
        const s = snapshot([table('posts', 10)], 1000 * n)
        s.totals['default:posts'] = {writes: 100 * n, flushed: 40 * n}
        return s
      },
    })
    app = render(<Dashboard source={source} intervalMs={30} />)
    const frame = await frameWith(app, '    100     40')
    expect(frame).toContain('posts')
  })
})
