import {render} from 'ink-testing-library'
import {afterEach, describe, expect, it, vi} from 'vitest'

import type {DeadLetter} from '../../../src/core/buffer/dead-letters.js'
import type {Json} from '../../../src/core/ipc/types.js'
import {Dashboard} from '../../../src/ui/dashboard/Dashboard.js'
import type {DashboardSnapshot, DashboardSource} from '../../../src/ui/dashboard/source.js'

/** Values a hostile state can hold, everywhere the dashboard shows text from the state or a service. */
const HOSTILE = 'h\u001b]0;PWNED\u0007\u001b[2J\u009b\u202e\u2066\u2028\u007f\r\nfake'
const SHOWN = 'h\\x1b]0;PWNED\\x07\\x1b[2J\\x9b\\u202e\\u2066\\u2028\\x7f\\r\\nfake'
const UNSAFE = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u061c\u200b\u200e\u200f\u2028-\u202e\u2060-\u206f\ufeff]/

const snapshot = (): DashboardSnapshot => ({
  at: Date.now(),
  status: {
    driver: 'redis',
    prefix: 'wb',
    target: 'redis://127.0.0.1:6379',
    tables: [{connection: 'default', table: 'posts', counters: {rows: 1, keys: 1}, updates: {rows: 0}, inserts: {rows: 0}, inflight: {batches: 0}, deadLetters: 1, oldestPendingMs: 10}],
    badKeys: [{key: `wb:c:${HOSTILE}`, problem: HOSTILE}],
    badKeysTotal: 1,
    lease: {owner: 'tok', host: HOSTILE, pid: 7, ageMs: 1, ttlMs: 1000, fence: 1},
    lastFlush: null,
    rollback: null,
  } as DashboardSnapshot['status'],
  totals: {},
  locks: [{key: `wb:lock:${HOSTILE}`, owner: 'tok', host: HOSTILE, pid: 7, alive: null, ageMs: 1, ttlMs: 1000, fence: 1, legacy: false}],
})

const letter: DeadLetter = {
  id: HOSTILE,
  connection: 'default',
  table: 'posts',
  kind: 'update',
  entry: {where: HOSTILE},
  error: HOSTILE,
  at: 1,
  reason: {code: 'X1', constraint: HOSTILE, message: HOSTILE},
  statement: HOSTILE,
  attempts: null,
}

const source = (): DashboardSource => ({
  read: vi.fn(async () => snapshot()),
  deadLetters: vi.fn(async () => [letter]),
  flush: vi.fn(async () => {
    throw new Error(HOSTILE)
  }),
  releaseLock: vi.fn(async () => ({key: HOSTILE, released: true, previous: null, forced: false})),
  retryDeadLetter: vi.fn(async () => 1),
  dropDeadLetter: vi.fn(async () => 1),
  streams: vi.fn(async () => [{name: HOSTILE, key: `wb:${HOSTILE}`, kind: 'list' as const, length: 1, oldestAgeMs: 1, newestAgeMs: 1, approxBytes: 10, policy: {keepKey: HOSTILE, timeField: 'at'}}]),
  events: vi.fn(async (): Promise<Json[]> => [
    {at: 0, type: HOSTILE, note: HOSTILE},
    {at: 0, type: 'lease-released', key: HOSTILE, holder: HOSTILE},
  ]),
  compact: vi.fn(async () => ({key: HOSTILE, dryRun: false, examined: 1, removed: 0, kept: 1, archive: null})),
  close: vi.fn(async () => {}),
})

const tick = (ms = 20) => new Promise((resolve) => setTimeout(resolve, ms))
async function frameWith(app: ReturnType<typeof render>, text: string): Promise<string> {
  for (let i = 0; i < 150; i++) {
    const frame = app.lastFrame() ?? ''
    if (frame.includes(text)) return frame
    await tick()
  }
  throw new Error(`no frame with ${JSON.stringify(text)}; last:\n${JSON.stringify(app.lastFrame())}`)
}

function expectSafe(view: string, frame: string, rows: number): void {
  // Ink's own colour codes are off here (no terminal); every raw control would be a value's.
  const found = UNSAFE.exec(frame)
  expect(found, `${view}: raw U+${found?.[0].charCodeAt(0).toString(16)} in ${JSON.stringify(frame)}`).toBeNull()
  expect(
    frame.split('\n').some((line) => /^\s*fake/.test(line)),
    `${view}: a forged line`,
  ).toBe(false)
  expect(frame.split('\n').length).toBeLessThanOrEqual(rows)
}

let app: ReturnType<typeof render> | undefined
afterEach(() => app?.unmount())

describe('Dashboard with hostile values in the state', () => {
  it('shows every view escaped, on the lines its layout has', async () => {
    app = render(<Dashboard source={source()} intervalMs={60_000} size={{columns: 200, rows: 24}} />)
    expectSafe('tables', await frameWith(app, `lease ${SHOWN}:7`), 24)
    expect(app.lastFrame()).toContain(`first: wb:c:${SHOWN}`)
    app.stdin.write('l')
    const locks = await frameWith(app, `wb:lock:h\\x1b]0;`)
    expectSafe('locks', locks, 24)
    expect(locks).toContain(SHOWN.slice(0, 20))
    app.stdin.write('e')
    const events = await frameWith(app, `lease ${SHOWN} released`)
    expectSafe('events', events, 24)
    app.stdin.write('s')
    expectSafe('streams', await frameWith(app, `key ${SHOWN}`), 24)
    app.stdin.write('t')
    await frameWith(app, 'posts')
    app.stdin.write('d')
    expectSafe('dead letters', await frameWith(app, `update X1 (${SHOWN}): `), 24)
    app.stdin.write('\r')
    const detail = await frameWith(app, 'statement: ')
    expectSafe('a dead letter in full', detail, 24)
    expect(detail).toContain(`reason: ${SHOWN}`)
    expect(detail).toContain(`constraint: ${SHOWN}`)
    app.stdin.write('\u001b')
    await frameWith(app, 'dead letters of')
    app.stdin.write('\u001b')
    await frameWith(app, '↑↓ select')
    app.stdin.write('f')
    await frameWith(app, '(y/n)')
    // The answer can arrive before the handler that expects it is in place: press until answered
    // ('y' does nothing once the question is gone).
    let answered = ''
    for (let i = 0; i < 50 && !answered.includes('failed: '); i++) {
      app.stdin.write('y')
      await tick(50)
      answered = app.lastFrame() ?? ''
    }
    expectSafe('a failed action', await frameWith(app, `failed: ${SHOWN}`), 24)
  })
})
