import {useCallback, useEffect, useRef, useState} from 'react'

import type {DeadLetter} from '../../core/buffer/dead-letters.js'
import {formatDuration} from '../../core/duration.js'
import type {Json} from '../../core/ipc/types.js'
import type {StreamInfo} from '../../core/streams/streams.js'
import {nextRows, type TableRow} from './model.js'
import type {DashboardSnapshot, DashboardSource} from './source.js'

export interface DashboardReadings {
  snapshot: DashboardSnapshot | null
  rows: TableRow[]
  /** The last read failed (the figures on screen are then unknown), and how many times in a row. */
  failure: {message: string; attempts: number} | null
  letters: DeadLetter[]
  streams: StreamInfo[]
  /** The engine's event stream, read when the events view opens. */
  history: Json[]
  /** What this dashboard saw: reconnections, flushes, the outcome of its actions. */
  events: string[]
  log: (line: string) => void
  refresh: () => Promise<void>
  loadLetters: (table: {connection: string; table: string} | null) => Promise<void>
  /** Empties the dead-letter list at once: another table's letters are on their way. */
  clearLetters: () => void
  loadStreams: () => Promise<void>
  loadHistory: () => void
}

/**
 * Everything the dashboard reads from its source: the snapshot every `intervalMs` (not while
 * paused), rows with their rates and history, and the lists the other views load on demand.
 * A list that cannot be read is reported through `onError`; the view keeps what it had.
 */
export function useDashboardData(source: DashboardSource, intervalMs: number, paused: boolean, initial: DashboardSnapshot | undefined, onError: (message: string) => void): DashboardReadings {
  const [snapshot, setSnapshot] = useState<DashboardSnapshot | null>(initial ?? null)
  const [rows, setRows] = useState<TableRow[]>(() => (initial ? nextRows(null, initial) : []))
  const [failure, setFailure] = useState<{message: string; attempts: number} | null>(null)
  const [letters, setLetters] = useState<DeadLetter[]>([])
  const [streams, setStreams] = useState<StreamInfo[]>([])
  const [history, setHistory] = useState<Json[]>([])
  const [events, setEvents] = useState<string[]>([])
  // Rates and sparklines compare each snapshot with the one before.
  const previous = useRef<{snapshot: DashboardSnapshot; rows: TableRow[]} | null>(initial ? {snapshot: initial, rows: nextRows(null, initial)} : null)
  const lastFlushSeen = useRef<unknown>(null)

  const log = useCallback((line: string) => setEvents((list) => [...list, `${new Date().toISOString().slice(11, 19)} ${line}`].slice(-200)), [])

  const refresh = useCallback(async () => {
    try {
      const next = await source.read()
      const nextTableRows = nextRows(previous.current, next)
      previous.current = {snapshot: next, rows: nextTableRows}
      setSnapshot(next)
      setRows(nextTableRows)
      setFailure((f) => {
        if (f) log(`reconnected after ${f.attempts} attempt${f.attempts === 1 ? '' : 's'}`)
        return null
      })
      const last = next.status.lastFlush
      const stamp = last ? `${String(last.startedAt)}:${String(last.status)}` : null
      if (stamp && stamp !== lastFlushSeen.current) {
        // The flush already done when the dashboard opened is not news.
        if (lastFlushSeen.current !== null) log(`flush ${String(last!.status)} in ${formatDuration(Number(last!.durationMs))} (fence ${String(last!.fence ?? '-')})`)
        lastFlushSeen.current = stamp
      }
    } catch (error) {
      setFailure((f) => {
        if (!f) log(`read failed: ${(error as Error).message}`)
        return {message: (error as Error).message, attempts: (f?.attempts ?? 0) + 1}
      })
    }
  }, [source, log])

  // Read by the timer: a pause shown on screen stops reads at once, not when React gets to the
  // effect's cleanup (which runs after the frame is drawn; a tick could fall in between).
  const pausedNow = useRef(paused)
  pausedNow.current = paused

  useEffect(() => {
    if (paused) return
    void refresh()
    const timer = setInterval(() => {
      if (!pausedNow.current) void refresh()
    }, intervalMs)
    return () => clearInterval(timer)
  }, [paused, intervalMs, refresh])

  const loadLetters = useCallback(
    async (row: {connection: string; table: string} | null) => {
      if (!row) return setLetters([])
      try {
        setLetters(await source.deadLetters(row.connection, row.table))
      } catch (error) {
        onError(`dead letters: ${(error as Error).message}`)
      }
    },
    [source, onError],
  )

  const loadStreams = useCallback(async () => {
    try {
      setStreams(await source.streams())
    } catch (error) {
      onError(`streams: ${(error as Error).message}`)
    }
  }, [source, onError])

  const loadHistory = useCallback(() => {
    source.events(50).then(setHistory, () => setHistory([]))
  }, [source])

  const clearLetters = useCallback(() => setLetters([]), [])

  return {snapshot, rows, failure, letters, streams, history, events, log, refresh, loadLetters, clearLetters, loadStreams, loadHistory}
}
