import {render} from 'ink-testing-library'
import {afterEach, describe, expect, it, vi} from 'vitest'

import type {TableStatus} from '../../../src/core/inspect/status.js'
import {Dashboard, hintLine} from '../../../src/ui/dashboard/Dashboard.js'
import type {DashboardSnapshot, DashboardSource} from '../../../src/ui/dashboard/source.js'

const table = (name: string): TableStatus => ({
  connection: 'default',
  table: name,
  counters: {rows: 5, keys: 5},
  updates: {rows: 0},
  inserts: {rows: 0},
  inflight: {batches: 0},
  deadLetters: 0,
  oldestPendingMs: 1500,
})

const snapshot = (): DashboardSnapshot => ({
  at: Date.now(),
  status: {driver: 'redis', prefix: 'wb', target: 'redis://127.0.0.1:6379', tables: [table('comments'), table('posts')], badKeys: [], badKeysTotal: 0, lease: null, lastFlush: null},
  totals: {},
  locks: [],
})

const source = () => ({read: vi.fn(async () => snapshot()), close: vi.fn(async () => {})}) as unknown as DashboardSource

async function frameWith(app: ReturnType<typeof render>, text: string): Promise<string> {
  for (let i = 0; i < 100; i++) {
    const frame = app.lastFrame() ?? ''
    if (frame.includes(text)) return frame
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
  throw new Error(`no frame with "${text}"; last:\n${app.lastFrame()}`)
}

const widest = (frame: string) => Math.max(...frame.split('\n').map((line) => line.length))

let app: ReturnType<typeof render> | undefined
afterEach(() => app?.unmount())

describe('the dashboard fits its terminal', () => {
  it.each([80, 64, 100])('keeps "? help · q quit" on the key line at %i columns, within the width', async (columns) => {
    app = render(<Dashboard source={source()} intervalMs={60_000} size={{columns, rows: 24}} />)
    const frame = await frameWith(app, 'posts')
    const keys = frame.split('\n').at(-1) ?? ''
    expect(keys.trimEnd().endsWith('? help · q quit')).toBe(true)
    expect(keys).toContain('↑↓ select · f flush')
    expect(widest(frame)).toBeLessThanOrEqual(columns)
  })

  it('shortens the key line by dropping hints from the end, never help and quit', () => {
    const keys = ['↑↓ select', 'f flush', 'F all', 'l locks', 'd dead letters', 's streams', 'e events', 'p pause']
    expect(hintLine(keys, 200)).toBe('↑↓ select · f flush · F all · l locks · d dead letters · s streams · e events · p pause · ? help · q quit')
    expect(hintLine(keys, 80)).toBe('↑↓ select · f flush · F all · l locks · d dead letters · ? help · q quit')
    expect(hintLine(keys, 20)).toBe('? help · q quit')
    for (let width = 15; width <= 120; width++) expect(hintLine(keys, width).length).toBeLessThanOrEqual(width)
  })

  it('prints no key hints in a frame that takes no keys (--once)', async () => {
    app = render(<Dashboard source={source()} intervalMs={60_000} size={{columns: 80, rows: 24}} initial={snapshot()} keyHints={false} />)
    const frame = await frameWith(app, 'posts')
    expect(frame).not.toContain('q quit')
    expect(frame).not.toContain('? help')
  })

  it('clears its frame when it quits', async () => {
    app = render(<Dashboard source={source()} intervalMs={60_000} size={{columns: 80, rows: 24}} />)
    await frameWith(app, 'posts')
    // Up to 5 s: under load Ink's last render after exit can take a while. (With CI set, Ink
    // writes its final frame once more on exit: an empty frame is a lone newline then.)
    for (let i = 0; i < 250 && (app.lastFrame() ?? '').trim() !== ''; i++) {
      app.stdin.write('q')
      await new Promise((resolve) => setTimeout(resolve, 20))
    }
    expect((app.lastFrame() ?? '').trim()).toBe('')
  })
})
