import {render} from 'ink-testing-library'
import {afterEach, describe, expect, it, vi} from 'vitest'

import type {DeadLetter} from '../../../src/core/buffer/dead-letters.js'
import type {TableStatus} from '../../../src/core/inspect/status.js'
import {Dashboard} from '../../../src/ui/dashboard/Dashboard.js'
import type {DashboardSnapshot, DashboardSource} from '../../../src/ui/dashboard/source.js'

const table = (name: string, deadLetters: number): TableStatus => ({
  connection: 'default',
  table: name,
  counters: {rows: 7, keys: 7},
  updates: {rows: 0},
  inserts: {rows: 0},
  inflight: {batches: 0},
  deadLetters,
  oldestPendingMs: 1500,
})

const snapshot = (tables: TableStatus[]): DashboardSnapshot => ({
  at: Date.now(),
  status: {driver: 'redis', prefix: 'wb', target: 'redis://127.0.0.1:6379', tables, badKeys: [], badKeysTotal: 0, lease: null, lastFlush: null},
  totals: {},
  locks: [],
})

const letterOf = (tableName: string, id: string, n: number): DeadLetter => ({
  id,
  connection: 'default',
  table: tableName,
  kind: 'insert',
  entry: {row: {amount: -n, note: 'x'.repeat(200)}},
  error: `23514 (${tableName}_amount_check): new row for relation "${tableName}" violates check constraint "${tableName}_amount_check"`,
  at: n,
  reason: {
    code: '23514',
    constraint: `${tableName}_amount_check`,
    message: `new row for relation "${tableName}" violates check constraint "${tableName}_amount_check"`,
    detail: `Failing row contains (${n}).`,
  },
  statement: `insert into "${tableName}" ("amount", "note") values ($1, $2)`,
  attempts: 3,
})

// The demo's two tables: activity (3 dead letters), users (1), listed in that order.
const letters: Record<string, DeadLetter[]> = {
  demo_activity: [letterOf('demo_activity', 'bA:1', 1), letterOf('demo_activity', 'bA:2', 2), letterOf('demo_activity', 'bA:821', 3)],
  demo_users: [letterOf('demo_users', 'bU:5', 4)],
}

function fakeSource(overrides: Partial<DashboardSource> = {}): DashboardSource {
  return {
    read: vi.fn(async () => snapshot([table('demo_activity', 3), table('demo_users', 1)])),
    deadLetters: vi.fn(async (_c: string, t: string) => letters[t] ?? []),
    flush: vi.fn(),
    releaseLock: vi.fn(),
    retryDeadLetter: vi.fn(async () => 1),
    dropDeadLetter: vi.fn(async () => 1),
    streams: vi.fn(async () => []),
    events: vi.fn(async () => []),
    compact: vi.fn(),
    close: vi.fn(async () => {}),
    ...overrides,
  } as never
}

async function frameWith(app: ReturnType<typeof render>, text: string): Promise<string> {
  for (let i = 0; i < 250; i++) {
    const frame = app.lastFrame() ?? ''
    if (frame.includes(text)) return frame
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
  throw new Error(`no frame with "${text}"; last:\n${app.lastFrame()}`)
}

/** Presses a key until the frame shows `text` (a handler can lag the frame it acts on). */
async function press(app: ReturnType<typeof render>, key: string, text: string): Promise<string> {
  for (let i = 0; i < 50; i++) {
    app.stdin.write(key)
    try {
      return await frameWith(app, text)
    } catch {
      // Not yet: press again.
    }
  }
  throw new Error(`"${key}" never showed "${text}"`)
}

let app: ReturnType<typeof render> | undefined
afterEach(() => app?.unmount())

describe('Dashboard dead-letter view', () => {
  it('↓ moves within the view only: the title, the question and the action stay on the chosen table', async () => {
    const source = fakeSource()
    app = render(<Dashboard source={source} intervalMs={60_000} size={{columns: 80, rows: 24}} />)
    await frameWith(app, 'demo_users')
    await press(app, '\u001B[B', '› demo_users')
    app.stdin.write('d')
    await frameWith(app, 'dead letters of default:demo_users')
    await frameWith(app, 'insert 23514')
    // The users table has one dead letter: ↓ neither moves past it nor changes the table.
    app.stdin.write('\u001B[B')
    app.stdin.write('\u001B[B')
    const frame = await frameWith(app, 'dead letters of default:demo_users')
    expect(frame).not.toContain('demo_activity')
    app.stdin.write('x')
    await frameWith(app, 'Drop for good dead letter bU:5 of default:demo_users? (y/n)')
    await press(app, 'y', 'dropped 1 dead letter of default:demo_users (bU:5)')
    expect(source.dropDeadLetter).toHaveBeenCalledTimes(1)
    expect(source.dropDeadLetter).toHaveBeenCalledWith('default', 'demo_users', 'bU:5')
    expect(vi.mocked(source.deadLetters).mock.calls.every(([c, t]) => c === 'default' && t === 'demo_users')).toBe(true)
    // Back in the tables, the selection is where it was.
    app.stdin.write('\u001B')
    await frameWith(app, '› demo_users')
  })

  it('the rows of another table: ↓ selects the third letter of that table and R retries exactly it', async () => {
    const source = fakeSource()
    app = render(<Dashboard source={source} intervalMs={60_000} size={{columns: 80, rows: 24}} />)
    await frameWith(app, '› demo_activity')
    app.stdin.write('d')
    await frameWith(app, 'dead letters of default:demo_activity')
    await press(app, '\u001B[B', 'dead letters of default:demo_activity')
    app.stdin.write('\u001B[B')
    app.stdin.write('\u001B[B')
    app.stdin.write('R')
    const question = await frameWith(app, '(y/n)')
    expect(question).toContain('Retry dead letter bA:821 of default:demo_activity? (y/n)')
    await press(app, 'y', 'retried 1 dead letter of default:demo_activity (bA:821)')
    expect(source.retryDeadLetter).toHaveBeenCalledWith('default', 'demo_activity', 'bA:821')
    app.stdin.write('\u001B')
    await frameWith(app, '› demo_activity')
  })

  it('shows the reason first within 80 columns, and Enter shows the letter in full', async () => {
    app = render(<Dashboard source={fakeSource()} intervalMs={60_000} size={{columns: 80, rows: 24}} />)
    await frameWith(app, 'demo_activity')
    app.stdin.write('d')
    const list = await frameWith(app, 'insert 23514')
    const row = list.split('\n').find((line) => line.includes('insert'))!
    expect(row).toContain('23514 (demo_activity_amount_check): new row')
    for (const line of list.split('\n')) expect(line.length).toBeLessThanOrEqual(80)
    app.stdin.write('\r')
    const detail = await frameWith(app, 'statement:')
    expect(detail).toContain('dead letter bA:1 of default:demo_activity')
    expect(detail).toContain('code: 23514')
    expect(detail).toContain('constraint: demo_activity_amount_check')
    expect(detail).toContain('detail: Failing row contains (1).')
    expect(detail).toContain('attempts 3')
    expect(detail).toContain('statement: insert into "demo_activity" ("amount", "note") values ($1, $2)')
    for (const line of detail.split('\n')) expect(line.length).toBeLessThanOrEqual(80)
    expect(detail.split('\n').length).toBeLessThanOrEqual(24)
    app.stdin.write('x')
    await frameWith(app, 'Drop for good dead letter bA:1 of default:demo_activity? (y/n)')
  })
})

describe('Dashboard with the state unreadable', () => {
  it('before any read succeeds: lease, last flush and pending are unknown, never free, none or nothing', async () => {
    const source = fakeSource({read: vi.fn(async () => Promise.reject(new Error('Redis at redis://127.0.0.1:6379 is unreachable: connect ECONNREFUSED')))})
    app = render(<Dashboard source={source} intervalMs={40} size={{columns: 80, rows: 24}} />)
    const frame = await frameWith(app, 'attempt 2')
    expect(frame).toContain('lease unknown')
    expect(frame).toContain('last flush unknown')
    expect(frame).toContain('pending: unknown (the state has not been read yet)')
    expect(frame).not.toContain('lease free')
    expect(frame).not.toContain('no flush yet')
    expect(frame).not.toContain('nothing pending')
  })

  it('after it went away: the last figures read are shown as ?, with when they were read', async () => {
    let down = false
    const good = fakeSource()
    const source = fakeSource({
      read: vi.fn(async () => {
        if (down) throw new Error('Redis at redis://127.0.0.1:6379 is unreachable: connection refused')
        return good.read()
      }),
    })
    app = render(<Dashboard source={source} intervalMs={40} size={{columns: 80, rows: 24}} />)
    const before = await frameWith(app, 'demo_users')
    expect(before).toContain('lease free')
    down = true
    const frame = await frameWith(app, 'attempt 2')
    expect(frame).toContain('lease unknown')
    expect(frame).toContain('the state cannot be read')
    const users = frame.split('\n').find((line) => line.includes('demo_users'))!
    expect(users).not.toMatch(/\d/)
    expect(users).toContain('?')
  })
})
