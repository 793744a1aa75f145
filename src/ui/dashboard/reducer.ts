import type {DeadLetter} from '../../core/buffer/dead-letters.js'
import type {LockInfo} from '../../core/inspect/locks.js'
import type {StreamInfo} from '../../core/streams/streams.js'
import type {TableRow} from './model.js'

export type View = 'tables' | 'locks' | 'deadletters' | 'letter' | 'events' | 'streams' | 'help'

/** A table as the dead-letter view addresses it. */
export interface LetterTable {
  connection: string
  table: string
  id: string
}

/** What a confirmed question does (carried out by the component, see actions.ts). */
export type DashboardAction =
  | {type: 'flush-table'; connection: string; table: string}
  | {type: 'flush-all'}
  | {type: 'release-lock'; key: string; force: boolean}
  | {type: 'retry-letter' | 'drop-letter'; connection: string; table: string; id: string}
  | {type: 'compact'; name: string}

export interface Confirming {
  question: string
  action: DashboardAction
  /** Shown on the row the action concerns while it runs. */
  rowId?: string
}

/** What the keys change. Data read from the state (rows, locks, …) is not here: see DashboardData. */
export interface DashboardState {
  view: View
  /** The selected line of the current view. */
  selected: number
  /** The table selection survives other views: their ↑/↓ move their own selection only. */
  tableIndex: number
  /** The table whose dead letters the dead-letter view shows, fixed when the view opens. */
  letterTable: LetterTable | null
  paused: boolean
  confirming: Confirming | null
  message: string | null
  quitting: boolean
}

/** What the keys read: the latest data, and whether an action still runs. */
export interface DashboardData {
  rows: TableRow[]
  locks: LockInfo[]
  letters: DeadLetter[]
  streams: StreamInfo[]
  busy: boolean
}

/** A key as Ink reports it (only the fields the dashboard reads). */
export interface DashboardKey {
  input: string
  upArrow?: boolean
  downArrow?: boolean
  escape?: boolean
  return?: boolean
  ctrl?: boolean
}

/** Work a key asks for, beyond the new state; the component carries it out. */
export type DashboardEffect = {type: 'run'; confirmed: Confirming} | {type: 'load-events'} | {type: 'load-streams'} | {type: 'load-letters'; target: LetterTable}

export interface Transition {
  state: DashboardState
  effects: DashboardEffect[]
}

export const initialDashboardState: DashboardState = {
  view: 'tables',
  selected: 0,
  tableIndex: 0,
  letterTable: null,
  paused: false,
  confirming: null,
  message: null,
  quitting: false,
}

/**
 * Opens a view. Back to the tables: their own selection. Another view starts at its first line
 * (`keep`: the help and events views keep the selection of the view they cover).
 */
export function show(state: DashboardState, next: View, keep = false): DashboardState {
  return {...state, view: next, selected: next === 'tables' ? state.tableIndex : keep ? state.selected : 0}
}

function move(state: DashboardState, data: DashboardData, by: number): DashboardState {
  const {view} = state
  if (view === 'letter' || view === 'help' || view === 'events') return state
  const length = view === 'locks' ? data.locks.length : view === 'deadletters' ? data.letters.length : view === 'streams' ? data.streams.length : data.rows.length
  const next = Math.max(0, Math.min(Math.max(0, length - 1), state.selected + by))
  return {...state, selected: next, ...(view === 'tables' ? {tableIndex: next} : {})}
}

const only = (state: DashboardState, ...effects: DashboardEffect[]): Transition => ({state, effects})
const ask = (state: DashboardState, confirming: Confirming): Transition => only({...state, confirming})

/**
 * The dashboard's keys: pure, so every key of every view is tested without a terminal. A question
 * waiting for y/n takes the next key whatever it is; navigation works while an action runs,
 * new actions do not.
 */
export function dashboardReducer(state: DashboardState, key: DashboardKey, data: DashboardData): Transition {
  const {input} = key
  const {view, selected} = state
  if (state.confirming) {
    if (input === 'y' || input === 'Y') return only({...state, confirming: null, message: null}, {type: 'run', confirmed: state.confirming})
    return only({...state, confirming: null, message: 'cancelled'})
  }
  if (input === 'q' || (key.ctrl && input === 'c')) return only({...state, quitting: true})
  if (key.escape) return only(view === 'letter' ? show(state, 'deadletters', true) : show(state, 'tables', true))
  if (key.upArrow) return only(move(state, data, -1))
  if (key.downArrow) return only(move(state, data, 1))
  if (input === 'p') return only({...state, paused: !state.paused})
  if (input === '?') return only(show(state, view === 'help' ? 'tables' : 'help', true))
  if (view === 'deadletters' && key.return && data.letters[selected]) return only(show(state, 'letter', true))
  if (input === 'l') return only(show(state, 'locks'))
  if (input === 'e') return only(show(state, 'events', true), {type: 'load-events'})
  if (input === 's') return only(show(state, 'streams'), {type: 'load-streams'})
  if (input === 't') return only(show(state, 'tables'))
  const row = data.rows[Math.min(state.tableIndex, Math.max(0, data.rows.length - 1))]
  if (input === 'd' && row && view === 'tables') {
    const target = {connection: row.connection, table: row.table, id: row.id}
    return only(show({...state, letterTable: target}, 'deadletters'), {type: 'load-letters', target})
  }
  if (data.busy) return only({...state, message: 'an action is still running'})
  if (view === 'tables' && input === 'f' && row) {
    return ask(state, {question: `Flush ${row.table}?`, rowId: row.id, action: {type: 'flush-table', connection: row.connection, table: row.table}})
  }
  if (view === 'tables' && input === 'F') return ask(state, {question: 'Flush all tables?', action: {type: 'flush-all'}})
  if (view === 'locks' && input === 'r') {
    const lock = data.locks[selected]
    if (!lock) return only(state)
    // A holder not known to be dead may still be flushing: releasing it is forced, and said so.
    const live = lock.alive !== false
    const question = live ? `Holder of ${lock.key} may be alive (${lock.host ?? '?'} pid ${lock.pid ?? '?'}). FORCE release?` : `Release ${lock.key}?`
    return ask(state, {question, action: {type: 'release-lock', key: lock.key, force: live}})
  }
  if ((view === 'deadletters' || view === 'letter') && (input === 'R' || input === 'x') && state.letterTable) {
    const letter = data.letters[selected]
    if (!letter) return only(state)
    const retry = input === 'R'
    // The letter names its own table: the question and the action concern that table only.
    const question = `${retry ? 'Retry' : 'Drop for good'} dead letter ${letter.id} of ${letter.connection}:${letter.table}?`
    return ask(state, {question, action: {type: retry ? 'retry-letter' : 'drop-letter', connection: letter.connection, table: letter.table, id: letter.id}})
  }
  if (view === 'streams' && input === 'c') {
    const stream = data.streams[selected]
    if (!stream) return only(state)
    if (!stream.policy) return only({...state, message: `${stream.name} has no compaction policy (configure one under "streams", or use wbc compact)`})
    const question = `Compact ${stream.name} with its policy${stream.kind === 'queue' ? ' (an insert queue: removed rows never reach the database)' : ''}?`
    return ask(state, {question, action: {type: 'compact', name: stream.name}})
  }
  return only(state)
}

/** After a dead letter was retried or dropped: its details are gone, back to the list. */
export function afterLetterAction(state: DashboardState): DashboardState {
  return state.view === 'letter' ? show(state, 'deadletters') : state
}
