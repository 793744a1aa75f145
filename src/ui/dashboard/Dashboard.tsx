import {Box, Text, useApp, useInput, useStdin, useStdout} from 'ink'
import {useCallback, useEffect, useRef, useState} from 'react'

import {formatDuration} from '../../core/duration.js'
import {runAction} from './actions.js'
import {DEFAULT_THRESHOLDS, fit, type Thresholds} from './model.js'
import {afterLetterAction, dashboardReducer, initialDashboardState, type Confirming, type DashboardData, type DashboardState, type Transition} from './reducer.js'
import type {DashboardSnapshot, DashboardSource} from './source.js'
import {useDashboardData} from './use-dashboard-data.js'
import {DeadLettersView} from './views/DeadLettersView.js'
import {EventsView} from './views/EventsView.js'
import {Footer} from './views/Footer.js'
import {Header} from './views/Header.js'
import {HelpView} from './views/HelpView.js'
import {LetterView} from './views/LetterView.js'
import {LocksView} from './views/LocksView.js'
import {StreamsView} from './views/StreamsView.js'
import {TablesView} from './views/TablesView.js'

export {hintLine} from './views/Footer.js'
export type {View} from './reducer.js'

export interface DashboardProps {
  source: DashboardSource
  intervalMs: number
  thresholds?: Thresholds
  /** Columns and rows to lay out for (defaults to the terminal's size). */
  size?: {columns: number; rows: number}
  /** A snapshot to show from the first frame (`--once` renders just that). */
  initial?: DashboardSnapshot
  /** Show the key hints (false for `--once`: a printed frame takes no keys). */
  keyHints?: boolean
}

const SPINNER = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏']

/**
 * The live dashboard: data from useDashboardData, keys through dashboardReducer (pure, tested on
 * its own), one component per view. This file wires them: it runs what a key asks for (loads,
 * confirmed actions) and lays the frame out.
 */
export function Dashboard({source, intervalMs, thresholds = DEFAULT_THRESHOLDS, size, initial, keyHints = true}: DashboardProps) {
  const {exit} = useApp()
  const {isRawModeSupported} = useStdin()
  const {stdout} = useStdout()
  const [terminal, setTerminal] = useState({columns: stdout?.columns ?? 80, rows: stdout?.rows ?? 24})
  const columns = Math.max(60, size?.columns ?? terminal.columns)
  const height = Math.max(12, size?.rows ?? terminal.rows)

  // Keys can arrive faster than renders: the state lives in a ref too, so each key sees the last one's result.
  const ui = useRef<DashboardState>(initialDashboardState)
  const [state, setState] = useState<DashboardState>(initialDashboardState)
  const commit = useCallback((next: DashboardState) => {
    ui.current = next
    setState(next)
  }, [])
  const say = useCallback((message: string | null) => commit({...ui.current, message}), [commit])
  const [busy, setBusy] = useState<{rowId?: string; label: string} | null>(null)
  const [tick, setTick] = useState(0)

  const data = useDashboardData(source, intervalMs, state.paused, initial, say)
  const locks = data.snapshot?.locks ?? []
  // What the keys read: the latest rendered data (the dead letters are emptied at once when another table's are asked for).
  const latest = useRef<DashboardData>({rows: data.rows, locks, letters: data.letters, streams: data.streams, busy: busy !== null})
  latest.current = {rows: data.rows, locks, letters: data.letters, streams: data.streams, busy: busy !== null}

  useEffect(() => {
    if (!stdout) return
    const resize = () => setTerminal({columns: stdout.columns, rows: stdout.rows})
    stdout.on('resize', resize)
    return () => void stdout.off('resize', resize)
  }, [stdout])

  useEffect(() => {
    if (!busy) return
    const timer = setInterval(() => setTick((t) => t + 1), 100)
    return () => clearInterval(timer)
  }, [busy])

  const act = useCallback(
    (confirmed: Confirming) => {
      setBusy({rowId: confirmed.rowId, label: confirmed.question.replace(/\?$/, '')})
      const letterTable = ui.current.letterTable
      const followUps = {
        letters: async () => {
          await data.loadLetters(letterTable)
          commit(afterLetterAction(ui.current))
        },
        streams: data.loadStreams,
      }
      runAction(source, confirmed.action, followUps)
        .then(
          (result) => {
            say(result)
            data.log(result)
          },
          (error) => {
            const text = `failed: ${(error as Error).message}`
            say(text)
            data.log(text)
          },
        )
        .finally(() => {
          setBusy(null)
          void data.refresh()
        })
    },
    [source, data, commit, say],
  )

  const apply = (transition: Transition) => {
    commit(transition.state)
    for (const effect of transition.effects) {
      if (effect.type === 'run') act(effect.confirmed)
      else if (effect.type === 'load-events') data.loadHistory()
      else if (effect.type === 'load-streams') void data.loadStreams()
      else {
        latest.current = {...latest.current, letters: []}
        data.clearLetters()
        void data.loadLetters(effect.target)
      }
    }
  }

  useInput((input, key) => apply(dashboardReducer(ui.current, {input, upArrow: key.upArrow, downArrow: key.downArrow, escape: key.escape, return: key.return, ctrl: key.ctrl}, latest.current)), {
    isActive: isRawModeSupported === true,
  })

  useEffect(() => {
    if (state.quitting) exit()
  }, [state.quitting, exit])

  const {snapshot, failure, rows, letters} = data
  const {view, selected} = state
  const body = height - 6
  const spinner = SPINNER[tick % SPINNER.length]
  // Quitting first draws an empty frame, so the terminal is left as it was (no dashboard behind the prompt).
  if (state.quitting) return null
  return (
    <Box flexDirection="column" width={columns}>
      <Header snapshot={snapshot} unreadable={failure !== null} intervalMs={intervalMs} paused={state.paused} columns={columns} />
      {failure ? (
        <Text color="red">{fit(`! attempt ${failure.attempts}, retrying every ${formatDuration(intervalMs)}: ${failure.message}`, columns)}</Text>
      ) : snapshot && snapshot.status.badKeysTotal > 0 ? (
        <Text color="yellow">{fit(`! ${snapshot.status.badKeysTotal} bad key(s) under ${snapshot.status.prefix}: (first: ${snapshot.status.badKeys[0]?.key}); see wbc doctor`, columns)}</Text>
      ) : (
        <Text> </Text>
      )}
      {view === 'tables' && (
        <TablesView
          rows={rows}
          known={snapshot !== null && failure === null}
          readAt={snapshot?.at ?? null}
          selected={selected}
          thresholds={thresholds}
          columns={columns}
          height={body}
          busy={busy}
          spinner={spinner}
        />
      )}
      {view === 'locks' && <LocksView snapshot={snapshot} selected={selected} columns={columns} height={body} />}
      {view === 'deadletters' && <DeadLettersView target={state.letterTable?.id ?? null} letters={letters} selected={selected} columns={columns} height={body} />}
      {view === 'letter' && letters[selected] && <LetterView letter={letters[selected]} columns={columns} height={body} />}
      {view === 'events' && <EventsView history={data.history} events={data.events} columns={columns} height={body} />}
      {view === 'streams' && <StreamsView streams={data.streams} selected={selected} columns={columns} height={body} />}
      {view === 'help' && <HelpView columns={columns} />}
      <Footer confirming={state.confirming} busy={busy} message={state.message} view={view} columns={columns} spinner={spinner} keyHints={keyHints} />
    </Box>
  )
}
