import {describe, expect, it} from 'vitest'

import type {DeadLetter} from '../../../src/core/buffer/dead-letters.js'
import type {LockInfo} from '../../../src/core/inspect/locks.js'
import type {StreamInfo} from '../../../src/core/streams/streams.js'
import type {TableRow} from '../../../src/ui/dashboard/model.js'
import {
  afterLetterAction,
  dashboardReducer,
  initialDashboardState,
  type DashboardData,
  type DashboardEffect,
  type DashboardKey,
  type DashboardState,
  type View,
} from '../../../src/ui/dashboard/reducer.js'

const row = (connection: string, table: string): TableRow => ({
  connection,
  table,
  id: `${connection}:${table}`,
  counters: {rows: 1, keys: 1},
  updates: {rows: 0},
  inserts: {rows: 0},
  inflight: {batches: 0},
  deadLetters: 0,
  oldestPendingMs: null,
  pending: 1,
  rateIn: null,
  rateOut: null,
  history: [1],
})

const lock = (key: string, alive: boolean | null): LockInfo => ({key, owner: 'o', host: 'h1', pid: 42, alive, ageMs: 1, ttlMs: 1, fence: 1, legacy: false})

const letter = (id: string, table: string): DeadLetter => ({
  id,
  connection: 'other',
  table,
  kind: 'insert',
  entry: {},
  error: 'refused',
  at: 0,
  reason: {code: null, constraint: null, message: 'refused'},
  statement: null,
  attempts: null,
})

const stream = (name: string, kind: StreamInfo['kind'], withPolicy: boolean): StreamInfo => ({
  name,
  key: `wb:${name}`,
  kind,
  length: 3,
  oldestAgeMs: null,
  newestAgeMs: null,
  approxBytes: 0,
  policy: withPolicy ? {maxCount: 10, timeField: 'at'} : null,
})

// Every list has two or three lines; the views start on line 1, so ↑ and ↓ both have somewhere to go (or a bound to stop at).
const data: DashboardData = {
  rows: [row('default', 'a'), row('default', 'b'), row('other', 'c')],
  locks: [lock('wb:lock:flush', true), lock('wb:lock:old', false)],
  letters: [letter('b1:0', 'orders'), letter('b1:1', 'orders')],
  streams: [stream('q:default:log', 'queue', true), stream('events', 'events', false)],
  busy: false,
}

const letterTable = {connection: 'default', table: 'a', id: 'default:a'}

/** The tables view on its row 1; any other view on its line 1 while the tables keep row 2. */
function start(view: View): DashboardState {
  return {...initialDashboardState, view, selected: 1, tableIndex: view === 'tables' ? 1 : 2, letterTable}
}

const KEYS: Record<string, DashboardKey> = {
  up: {input: '', upArrow: true},
  down: {input: '', downArrow: true},
  esc: {input: '', escape: true},
  enter: {input: '', return: true},
  q: {input: 'q'},
  'ctrl-c': {input: 'c', ctrl: true},
  p: {input: 'p'},
  '?': {input: '?'},
  l: {input: 'l'},
  e: {input: 'e'},
  s: {input: 's'},
  t: {input: 't'},
  d: {input: 'd'},
  f: {input: 'f'},
  F: {input: 'F'},
  r: {input: 'r'},
  R: {input: 'R'},
  x: {input: 'x'},
  c: {input: 'c'},
  y: {input: 'y'},
  z: {input: 'z'},
}

type Expected = [Partial<DashboardState>, DashboardEffect[]?]

// Keys that do the same in every view.
const everywhere = (view: View): Record<string, Expected> => {
  const tableIndex = view === 'tables' ? 1 : 2
  return {
    q: [{quitting: true}],
    'ctrl-c': [{quitting: true}],
    p: [{paused: true}],
    '?': view === 'help' ? [{view: 'tables', selected: tableIndex}] : [{view: 'help', selected: 1}],
    l: [{view: 'locks', selected: 0}],
    e: [{view: 'events', selected: 1}, [{type: 'load-events'}]],
    s: [{view: 'streams', selected: 0}, [{type: 'load-streams'}]],
    t: [{view: 'tables', selected: tableIndex}],
    esc: view === 'letter' ? [{view: 'deadletters', selected: 1}] : [{view: 'tables', selected: tableIndex}],
  }
}

const retryLetter = {question: 'Retry dead letter b1:1 of other:orders?', action: {type: 'retry-letter', connection: 'other', table: 'orders', id: 'b1:1'}} as const
const dropLetter = {question: 'Drop for good dead letter b1:1 of other:orders?', action: {type: 'drop-letter', connection: 'other', table: 'orders', id: 'b1:1'}} as const

// What each view adds; every key not named leaves the state as it was and asks for nothing.
const byView: Record<View, Record<string, Expected>> = {
  tables: {
    up: [{selected: 0, tableIndex: 0}],
    down: [{selected: 2, tableIndex: 2}],
    d: [{view: 'deadletters', selected: 0, letterTable: {connection: 'default', table: 'b', id: 'default:b'}}, [{type: 'load-letters', target: {connection: 'default', table: 'b', id: 'default:b'}}]],
    f: [{confirming: {question: 'Flush b?', rowId: 'default:b', action: {type: 'flush-table', connection: 'default', table: 'b'}}}],
    F: [{confirming: {question: 'Flush all tables?', action: {type: 'flush-all'}}}],
  },
  locks: {
    up: [{selected: 0}],
    down: [{}],
    // Line 1 is a holder known to be dead: released without force.
    r: [{confirming: {question: 'Release wb:lock:old?', action: {type: 'release-lock', key: 'wb:lock:old', force: false}}}],
  },
  deadletters: {
    up: [{selected: 0}],
    down: [{}],
    enter: [{view: 'letter', selected: 1}],
    R: [{confirming: retryLetter}],
    x: [{confirming: dropLetter}],
  },
  letter: {
    R: [{confirming: retryLetter}],
    x: [{confirming: dropLetter}],
  },
  events: {},
  streams: {
    up: [{selected: 0}],
    down: [{}],
    c: [{message: 'events has no compaction policy (configure one under "streams", or use wbc compact)'}],
  },
  help: {},
}

describe('dashboardReducer: every key of every view', () => {
  for (const view of Object.keys(byView) as View[]) {
    describe(view, () => {
      for (const [name, key] of Object.entries(KEYS)) {
        const [patch, effects = []] = byView[view][name] ?? everywhere(view)[name] ?? [{}]
        it(`${name}`, () => {
          const before = start(view)
          expect(dashboardReducer(before, key, data)).toEqual({state: {...before, ...patch}, effects})
        })
      }
    })
  }
})

describe('dashboardReducer: questions, running actions, edges', () => {
  const asking = {...start('tables'), confirming: {question: 'Flush all tables?', action: {type: 'flush-all'}} as const}

  it('y and Y run the question asked, and clear the message', () => {
    for (const input of ['y', 'Y']) {
      expect(dashboardReducer({...asking, message: 'old'}, {input}, data)).toEqual({state: {...asking, confirming: null, message: null}, effects: [{type: 'run', confirmed: asking.confirming}]})
    }
  })

  it('any other key cancels the question, q and Esc included', () => {
    for (const key of [{input: 'n'}, KEYS.q, KEYS.esc, KEYS.f, KEYS.up]) {
      expect(dashboardReducer(asking, key, data)).toEqual({state: {...asking, confirming: null, message: 'cancelled'}, effects: []})
    }
  })

  it('while an action runs, actions are refused; moving and switching views still work', () => {
    const busy = {...data, busy: true}
    const before = start('tables')
    for (const input of ['f', 'F', 'z']) {
      expect(dashboardReducer(before, {input}, busy)).toEqual({state: {...before, message: 'an action is still running'}, effects: []})
    }
    expect(dashboardReducer(before, KEYS.l, busy).state).toEqual({...before, view: 'locks', selected: 0})
    expect(dashboardReducer(before, KEYS.down, busy).state).toEqual({...before, selected: 2, tableIndex: 2})
  })

  it('a holder that may be alive is released only as forced, and the question says so', () => {
    const before = {...start('locks'), selected: 0}
    expect(dashboardReducer(before, KEYS.r, data).state.confirming).toEqual({
      question: 'Holder of wb:lock:flush may be alive (h1 pid 42). FORCE release?',
      action: {type: 'release-lock', key: 'wb:lock:flush', force: true},
    })
  })

  it('compacting an insert queue warns that removed rows never reach the database', () => {
    const before = {...start('streams'), selected: 0}
    expect(dashboardReducer(before, KEYS.c, data).state.confirming).toEqual({
      question: 'Compact q:default:log with its policy (an insert queue: removed rows never reach the database)?',
      action: {type: 'compact', name: 'q:default:log'},
    })
  })

  it('keys that need a line do nothing on an empty list', () => {
    const empty: DashboardData = {rows: [], locks: [], letters: [], streams: [], busy: false}
    const cases: Array<[View, DashboardKey]> = [
      ['tables', KEYS.d],
      ['tables', KEYS.f],
      ['locks', KEYS.r],
      ['deadletters', KEYS.enter],
      ['deadletters', KEYS.R],
      ['letter', KEYS.x],
      ['streams', KEYS.c],
    ]
    for (const [view, key] of cases) {
      const before = {...start(view), selected: 0, tableIndex: 0}
      expect(dashboardReducer(before, key, empty)).toEqual({state: before, effects: []})
    }
    // ↑/↓ stay on line 0.
    expect(dashboardReducer({...start('locks'), selected: 0}, KEYS.down, empty).state.selected).toBe(0)
  })

  it('F flushes all even with no rows; dead letters need the table the view was opened for', () => {
    const empty: DashboardData = {rows: [], locks: [], letters: [], streams: [], busy: false}
    expect(dashboardReducer(start('tables'), KEYS.F, empty).state.confirming?.action).toEqual({type: 'flush-all'})
    const noTable = {...start('deadletters'), letterTable: null}
    expect(dashboardReducer(noTable, KEYS.R, data)).toEqual({state: noTable, effects: []})
  })

  it('p pauses and resumes', () => {
    const paused = dashboardReducer(start('tables'), KEYS.p, data).state
    expect(dashboardReducer(paused, KEYS.p, data).state).toEqual(start('tables'))
  })

  it('after a letter was retried or dropped its details close; the list stays', () => {
    expect(afterLetterAction(start('letter'))).toEqual({...start('letter'), view: 'deadletters', selected: 0})
    expect(afterLetterAction(start('deadletters'))).toEqual(start('deadletters'))
  })
})
