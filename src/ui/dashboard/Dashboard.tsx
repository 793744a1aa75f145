import {Box, Text, useApp, useInput, useStdin, useStdout} from 'ink'
import {useCallback, useEffect, useRef, useState} from 'react'

import type {DeadLetter} from '../../core/buffer/dead-letters.js'
import type {StreamInfo} from '../../core/streams/streams.js'
import type {Json} from '../../core/ipc/types.js'
import {formatDuration} from '../../core/duration.js'
import {formatRefusal} from '../../core/sql/refusal.js'
import {compact, DEFAULT_THRESHOLDS, fit, isHot, nextRows, sparkline, type TableRow, type Thresholds} from './model.js'
import type {DashboardSnapshot, DashboardSource} from './source.js'

export type View = 'tables' | 'locks' | 'deadletters' | 'letter' | 'events' | 'streams' | 'help'

interface Pending {
  question: string
  run: () => Promise<string>
  /** Shown on the row the action concerns while it runs. */
  rowId?: string
}

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

export function Dashboard({source, intervalMs, thresholds = DEFAULT_THRESHOLDS, size, initial, keyHints = true}: DashboardProps) {
  const {exit} = useApp()
  const {isRawModeSupported} = useStdin()
  const {stdout} = useStdout()
  const [terminal, setTerminal] = useState({columns: stdout?.columns ?? 80, rows: stdout?.rows ?? 24})
  const columns = Math.max(60, size?.columns ?? terminal.columns)
  const height = Math.max(12, size?.rows ?? terminal.rows)

  const [snapshot, setSnapshot] = useState<DashboardSnapshot | null>(initial ?? null)
  const [rows, setRows] = useState<TableRow[]>(() => (initial ? nextRows(null, initial) : []))
  const [failure, setFailure] = useState<{message: string; attempts: number} | null>(null)
  const [paused, setPaused] = useState(false)
  const [view, setView] = useState<View>('tables')
  const [selected, setSelected] = useState(0)
  // The table selection survives other views: their ↑/↓ move their own selection only.
  const [tableIndex, setTableIndex] = useState(0)
  // The table whose dead letters the dead-letter view shows, fixed when the view opens.
  const [letterTable, setLetterTable] = useState<{connection: string; table: string; id: string} | null>(null)
  const [letters, setLetters] = useState<DeadLetter[]>([])
  const [streams, setStreams] = useState<StreamInfo[]>([])
  const [history, setHistory] = useState<Json[]>([])
  const [confirming, setConfirmingState] = useState<Pending | null>(null)
  const [busy, setBusy] = useState<{rowId?: string; label: string} | null>(null)
  const [message, setMessage] = useState<string | null>(null)
  const [events, setEvents] = useState<string[]>([])
  const [tick, setTick] = useState(0)
  // Quitting first draws an empty frame, so the terminal is left as it was (no dashboard behind the prompt).
  const [quitting, setQuitting] = useState(false)
  const previous = useRef<{snapshot: DashboardSnapshot; rows: TableRow[]} | null>(initial ? {snapshot: initial, rows: nextRows(null, initial)} : null)
  const lastFlushSeen = useRef<unknown>(null)

  const log = useCallback((line: string) => setEvents((list) => [...list, `${new Date().toISOString().slice(11, 19)} ${line}`].slice(-200)), [])

  useEffect(() => {
    if (!stdout) return
    const resize = () => setTerminal({columns: stdout.columns, rows: stdout.rows})
    stdout.on('resize', resize)
    return () => void stdout.off('resize', resize)
  }, [stdout])

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

  useEffect(() => {
    if (paused) return
    void refresh()
    const timer = setInterval(() => void refresh(), intervalMs)
    return () => clearInterval(timer)
  }, [paused, intervalMs, refresh])

  useEffect(() => {
    if (!busy) return
    const timer = setInterval(() => setTick((t) => t + 1), 100)
    return () => clearInterval(timer)
  }, [busy])

  const locks = snapshot?.locks ?? []
  // Keys can arrive faster than renders: the handler reads the latest selection from a ref.
  const current = useRef({selected, tableIndex, rows, locks, letters, letterTable, view, streams, confirming})
  current.current = {selected, tableIndex, rows, locks, letters, letterTable, view, streams, confirming}
  // The question is in the ref at once: an answer typed before the next render still finds it.
  const setConfirming = useCallback((pending: Pending | null) => {
    current.current = {...current.current, confirming: pending}
    setConfirmingState(pending)
  }, [])
  const selectedRow = rows[Math.min(tableIndex, Math.max(0, rows.length - 1))]

  const loadLetters = useCallback(
    async (row: {connection: string; table: string} | null) => {
      if (!row) return setLetters([])
      try {
        setLetters(await source.deadLetters(row.connection, row.table))
      } catch (error) {
        setMessage(`dead letters: ${(error as Error).message}`)
      }
    },
    [source],
  )

  const loadStreams = useCallback(async () => {
    try {
      setStreams(await source.streams())
    } catch (error) {
      setMessage(`streams: ${(error as Error).message}`)
    }
  }, [source])

  const act = useCallback(
    (pending: Pending) => {
      setConfirming(null)
      setBusy({rowId: pending.rowId, label: pending.question.replace(/\?$/, '')})
      setMessage(null)
      pending
        .run()
        .then(
          (result) => {
            setMessage(result)
            log(result)
          },
          (error) => {
            const text = `failed: ${(error as Error).message}`
            setMessage(text)
            log(text)
          },
        )
        .finally(() => {
          setBusy(null)
          void refresh()
        })
    },
    [log, refresh, setConfirming],
  )

  const move = useCallback((by: number) => {
    const {view: v, locks: l, letters: d, rows: r, streams: st} = current.current
    const length = v === 'locks' ? l.length : v === 'deadletters' ? d.length : v === 'streams' ? st.length : r.length
    if (v === 'letter' || v === 'help' || v === 'events') return
    const next = Math.max(0, Math.min(Math.max(0, length - 1), current.current.selected + by))
    current.current = {...current.current, selected: next, ...(v === 'tables' ? {tableIndex: next} : {})}
    setSelected(next)
    if (v === 'tables') setTableIndex(next)
  }, [])

  useInput(
    (input, key) => {
      const {selected, tableIndex, rows, locks, letters, letterTable, view, streams} = current.current
      const selectedRow = rows[Math.min(tableIndex, Math.max(0, rows.length - 1))]
      // Back to the tables: their own selection. Another view starts at its first line
      // (`keep`: the help and events views keep the selection of the view they cover).
      const show = (next: View, keep = false) => {
        const index = next === 'tables' ? tableIndex : keep ? selected : 0
        current.current = {...current.current, view: next, selected: index}
        setView(next)
        setSelected(index)
      }
      const {confirming} = current.current
      if (confirming) {
        if (input === 'y' || input === 'Y') act(confirming)
        else {
          setConfirming(null)
          setMessage('cancelled')
        }
        return
      }
      if (input === 'q' || (key.ctrl && input === 'c')) return setQuitting(true)
      if (key.escape) return view === 'letter' ? show('deadletters', true) : show('tables', true)
      if (key.upArrow) return move(-1)
      if (key.downArrow) return move(1)
      if (input === 'p') return setPaused((p) => !p)
      if (input === '?') return show(view === 'help' ? 'tables' : 'help', true)
      if (view === 'deadletters' && key.return && letters[selected]) return show('letter', true)
      if (input === 'l') return show('locks')
      if (input === 'e') {
        show('events', true)
        source.events(50).then(setHistory, () => setHistory([]))
        return
      }
      if (input === 's') {
        show('streams')
        void loadStreams()
        return
      }
      if (input === 't') return show('tables')
      if (input === 'd' && selectedRow && view === 'tables') {
        const target = {connection: selectedRow.connection, table: selectedRow.table, id: selectedRow.id}
        current.current = {...current.current, letterTable: target, letters: []}
        setLetterTable(target)
        setLetters([])
        show('deadletters')
        void loadLetters(target)
        return
      }
      if (busy) return setMessage('an action is still running')
      if (view === 'tables' && input === 'f' && selectedRow) {
        const {connection, table} = selectedRow
        return setConfirming({
          question: `Flush ${table}?`,
          rowId: selectedRow.id,
          run: async () => {
            const report = await source.flush({connection, table})
            if (report.status === 'skipped') return `flush of ${table} skipped: the lease is held by ${report.holder?.host ?? '?'} pid ${report.holder?.pid ?? '?'}`
            const t = report.tables.find((r) => r.table === table)
            return `flushed ${table}: ${t ? t.counters + t.updates + t.inserts : 0} rows${t?.deadLettered ? `, ${t.deadLettered} dead-lettered` : ''} (${report.status})`
          },
        })
      }
      if (view === 'tables' && input === 'F') {
        return setConfirming({
          question: 'Flush all tables?',
          run: async () => {
            const report = await source.flush({})
            if (report.status === 'skipped') return 'flush skipped: the lease is held by another process'
            return `flushed ${report.tables.reduce((n, t) => n + t.counters + t.updates + t.inserts, 0)} rows in ${report.tables.length} tables (${report.status})`
          },
        })
      }
      if (view === 'locks' && input === 'r') {
        const lock = locks[selected]
        if (!lock) return
        const live = lock.alive !== false
        return setConfirming({
          question: live ? `Holder of ${lock.key} may be alive (${lock.host ?? '?'} pid ${lock.pid ?? '?'}). FORCE release?` : `Release ${lock.key}?`,
          run: async () => {
            const result = await source.releaseLock(lock.key, live)
            return result.released ? `released ${lock.key}${result.forced ? ' (forced; its holder is fenced out)' : ''}` : `${lock.key} was not held`
          },
        })
      }
      if ((view === 'deadletters' || view === 'letter') && (input === 'R' || input === 'x') && letterTable) {
        const letter = letters[selected]
        if (!letter) return
        const retry = input === 'R'
        // The letter names its own table: the question and the action concern that table only.
        const where = `${letter.connection}:${letter.table}`
        return setConfirming({
          question: `${retry ? 'Retry' : 'Drop for good'} dead letter ${letter.id} of ${where}?`,
          run: async () => {
            const n = retry ? await source.retryDeadLetter(letter.connection, letter.table, letter.id) : await source.dropDeadLetter(letter.connection, letter.table, letter.id)
            await loadLetters(letterTable)
            if (current.current.view === 'letter') show('deadletters')
            return `${retry ? 'retried' : 'dropped'} ${n} dead letter${n === 1 ? '' : 's'} of ${where} (${letter.id})`
          },
        })
      }
      if (view === 'streams' && input === 'c') {
        const stream = streams[selected]
        if (!stream) return
        if (!stream.policy) return setMessage(`${stream.name} has no compaction policy (configure one under "streams", or use wbc compact)`)
        return setConfirming({
          question: `Compact ${stream.name} with its policy${stream.kind === 'queue' ? ' (an insert queue: removed rows never reach the database)' : ''}?`,
          run: async () => {
            const result = await source.compact(stream.name)
            await loadStreams()
            return `compacted ${stream.name}: removed ${result.removed}, kept ${result.kept}`
          },
        })
      }
    },
    {isActive: isRawModeSupported === true},
  )

  useEffect(() => {
    if (quitting) exit()
  }, [quitting, exit])

  const body = height - 6
  if (quitting) return null
  return (
    <Box flexDirection="column" width={columns}>
      <Header snapshot={snapshot} unreadable={failure !== null} intervalMs={intervalMs} paused={paused} columns={columns} />
      {failure ? (
        <Text color="red">{fit(`! attempt ${failure.attempts}, retrying every ${formatDuration(intervalMs)}: ${failure.message}`, columns)}</Text>
      ) : snapshot && snapshot.status.badKeysTotal > 0 ? (
        <Text color="yellow">{fit(`! ${snapshot.status.badKeysTotal} bad key(s) under ${snapshot.status.prefix}: (first: ${snapshot.status.badKeys[0]?.key}); see wbc doctor`, columns)}</Text>
      ) : (
        <Text> </Text>
      )}
      {view === 'tables' && <TablesView rows={rows} known={snapshot !== null && failure === null} readAt={snapshot?.at ?? null} selected={selected} thresholds={thresholds} columns={columns} height={body} busy={busy} spinner={SPINNER[tick % SPINNER.length]} />}
      {view === 'locks' && <LocksView snapshot={snapshot} selected={selected} columns={columns} height={body} />}
      {view === 'deadletters' && <DeadLettersView target={letterTable?.id ?? null} letters={letters} selected={selected} columns={columns} height={body} />}
      {view === 'letter' && letters[selected] && <ListView title={`dead letter ${letters[selected].id} of ${letters[selected].connection}:${letters[selected].table} (R retry, x drop, Esc back)`} lines={clip(describeLetter(letters[selected], columns), body - 1, `… the rest: wbc deadletter show ${letters[selected].id}`)} columns={columns} />}
      {view === 'events' && <ListView title="recent events: the event stream, then what this dashboard saw" lines={[...history.map(describeEvent), ...events].slice(-body)} columns={columns} />}
      {view === 'streams' && <StreamsView streams={streams} selected={selected} columns={columns} height={body} />}
      {view === 'help' && <ListView title="keys" lines={HELP} columns={columns} />}
      <Footer confirming={confirming} busy={busy} message={message} view={view} columns={columns} spinner={SPINNER[tick % SPINNER.length]} keyHints={keyHints} />
    </Box>
  )
}

function describeEvent(event: Json): string {
  const e = (event && typeof event === 'object' && !Array.isArray(event) ? event : {}) as Record<string, Json>
  const at = typeof e.at === 'number' ? new Date(e.at).toISOString().slice(11, 19) : '--:--:--'
  if (e.type === 'flush') {
    return `${at} flush ${String(e.status)}: ${String(e.rows)} rows, ${String(e.deadLettered)} dead-lettered, ${String(e.recovered)} recovered${Array.isArray(e.errors) && e.errors.length ? `, ${e.errors.length} error(s)` : ''}`
  }
  if (e.type === 'lease-released') return `${at} lease ${String(e.key)} released${e.forced ? ' (forced)' : ''}, held by ${String(e.holder)}`
  return `${at} ${JSON.stringify(event)}`
}

const HELP = [
  '↑/↓ select        f flush table      F flush all       p pause/resume',
  'l locks           r release lock     d dead letters    Enter details, R retry, x drop',
  's streams (c compact with its policy)  e events  t tables  Esc back',
  '? help            q or Ctrl-C quit',
  'Every action asks y/n first; a live lease holder is only released when confirmed as forced.',
]

function Header({snapshot, unreadable, intervalMs, paused, columns}: {snapshot: DashboardSnapshot | null; unreadable: boolean; intervalMs: number; paused: boolean; columns: number}) {
  const status = snapshot?.status
  const lease = status?.lease
  const last = status?.lastFlush
  // What cannot be read now is unknown: neither the last values read nor "free"/"none".
  const known = snapshot !== null && !unreadable
  const leaseText = !known
    ? 'lease unknown'
    : lease
    ? `lease ${lease.owner === null ? 'ODAC (owner unknown)' : `${lease.host ?? '?'}:${lease.pid ?? '?'}`} age ${formatDuration(lease.ageMs)} ttl ${formatDuration(lease.ttlMs)} fence ${lease.fence ?? '-'}`
    : 'lease free'
 const lastText = !known ? 'last flush unknown' : last ? `last flush ${new Date(Number(last.startedAt)).toISOString().slice(11, 19)} ${String(last.status)} ${formatDuration(Number(last.durationMs))}` : 'no flush yet'
  return (
    <Box flexDirection="column">
      <Text bold>{fit(`wbc ${status ? `${status.driver} ${status.target} prefix ${status.prefix}` : 'connecting…'}`, columns)}</Text>
      <Text>{fit(`${leaseText} · ${lastText} · every ${formatDuration(intervalMs)} · ${paused ? 'PAUSED' : 'live'}`, columns)}</Text>
      {status?.rollback && (
        <Text color="red" bold>
          {fit(`STATE STORE ROLLED BACK (${status.rollback.connection}): flushing refused — run wbc recover --after-rollback`, columns)}
        </Text>
      )}
    </Box>
  )
}

function TablesView({rows, known, readAt, selected, thresholds, columns, height, busy, spinner}: {rows: TableRow[]; known: boolean; readAt: number | null; selected: number; thresholds: Thresholds; columns: number; height: number; busy: {rowId?: string} | null; spinner: string}) {
  const fixed = 2 + 8 + 7 + 8 + 5 + 5 + 7 + 7 + 7
  const spark = Math.max(0, Math.min(20, columns - fixed - 16))
  const name = Math.max(8, columns - fixed - spark - 1)
  const head = `  ${fit('table', name)}${fit('counter', 8, 'right')}${fit('upd', 7, 'right')}${fit('insert', 8, 'right')}${fit('infl', 5, 'right')}${fit('dead', 5, 'right')}${fit('oldest', 7, 'right')}${fit('in/s', 7, 'right')}${fit('out/s', 7, 'right')} ${spark ? fit('pending', spark) : ''}`
  const start = Math.max(0, Math.min(selected - height + 2, rows.length - (height - 1)))
  return (
    <Box flexDirection="column">
      <Text dimColor>{fit(head, columns)}</Text>
      {!known && <Text color="yellow">{fit(readAt === null ? '  pending: unknown (the state has not been read yet)' : `  pending: unknown — the state cannot be read; ? marks figures last read at ${new Date(readAt).toISOString().slice(11, 19)}`, columns)}</Text>}
      {known && rows.length === 0 && <Text>  nothing pending</Text>}
      {rows.slice(start, start + height - (known ? 1 : 2)).map((row, i) => {
        const index = start + i
        const mark = busy?.rowId === row.id ? spinner : index === selected ? '›' : ' '
        // Figures that cannot be read now are shown as `?`, never as the last ones read.
        const n = (value: number | null, width: number) => fit(known ? compact(value) : '?', width, 'right')
        const line = `${mark} ${fit(row.connection === 'default' ? row.table : row.id, name)}${n(row.counters.rows, 8)}${n(row.updates.rows, 7)}${n(row.inserts.rows, 8)}${n(row.inflight.batches, 5)}${n(row.deadLetters, 5)}${fit(known ? formatDuration(row.oldestPendingMs) : '?', 7, 'right')}${n(row.rateIn, 7)}${n(row.rateOut, 7)} ${spark ? sparkline(row.history, spark) : ''}`
        return (
          <Text key={row.id} inverse={index === selected} color={isHot(row, thresholds) ? 'red' : undefined}>
            {fit(line, columns)}
          </Text>
        )
      })}
    </Box>
  )
}

function LocksView({snapshot, selected, columns, height}: {snapshot: DashboardSnapshot | null; selected: number; columns: number; height: number}) {
  const locks = snapshot?.locks ?? []
  return (
    <Box flexDirection="column">
      <Text dimColor>{fit('  key                          holder                alive   age     ttl   fence', columns)}</Text>
      {locks.length === 0 && <Text>  no leases held</Text>}
      {locks.slice(0, height - 1).map((lock, i) => (
        <Text key={lock.key} inverse={i === selected} color={lock.alive === false ? 'yellow' : undefined}>
          {fit(
            `${i === selected ? '›' : ' '} ${fit(lock.key, 28)} ${fit(lock.legacy ? 'ODAC (unknown)' : `${lock.host ?? '?'}:${lock.pid ?? '?'}`, 21)} ${fit(lock.alive === null ? '?' : lock.alive ? 'yes' : 'no', 6)}${fit(formatDuration(lock.ageMs), 7, 'right')}${fit(formatDuration(lock.ttlMs), 7, 'right')}${fit(String(lock.fence ?? '-'), 7, 'right')}`,
            columns,
          )}
        </Text>
      ))}
    </Box>
  )
}

function DeadLettersView({target, letters, selected, columns, height}: {target: string | null; letters: DeadLetter[]; selected: number; columns: number; height: number}) {
  const start = Math.max(0, Math.min(selected - height + 2, letters.length - (height - 1)))
  return (
    <Box flexDirection="column">
      <Text dimColor>{fit(`  dead letters of ${target ?? '-'} (Enter details, R retry, x drop, Esc back)`, columns)}</Text>
      {letters.length === 0 && <Text>  none</Text>}
      {letters.slice(start, start + height - 1).map((letter, i) => (
        <Text key={letter.id} inverse={start + i === selected}>
          {/* The reason first: a narrow terminal cuts the entry, not why it was refused. */}
          {fit(`${start + i === selected ? '›' : ' '} ${letter.kind} ${formatRefusal(letter.reason)} — ${JSON.stringify(letter.entry)}`, columns)}
        </Text>
      ))}
    </Box>
  )
}

const clip = (lines: string[], max: number, more: string) => (lines.length <= max ? lines : [...lines.slice(0, Math.max(0, max - 1)), more])

/** A dead letter in full, cut into lines of the screen's width (nothing is lost to a cut). */
function describeLetter(letter: DeadLetter, columns: number): string[] {
  const width = Math.max(20, columns - 4)
  const wrap = (label: string, text: string) => {
    const shown = `${label}: ${text}`
    const lines: string[] = []
    for (let i = 0; i < shown.length; i += width) lines.push(`${i === 0 ? '' : '  '}${shown.slice(i, i + width)}`)
    return lines
  }
  return [
    ...wrap('code', letter.reason.code ?? 'unknown'),
    ...wrap('constraint', letter.reason.constraint ?? '-'),
    ...wrap('reason', letter.reason.message),
    ...(letter.reason.detail ? wrap('detail', letter.reason.detail) : []),
    ...wrap('kind', `${letter.kind}, at ${new Date(letter.at).toISOString()}, attempts ${letter.attempts ?? 'not recorded'}`),
    ...wrap('entry', JSON.stringify(letter.entry)),
    ...wrap('statement', letter.statement ?? '(not recorded)'),
  ]
}

function StreamsView({streams, selected, columns, height}: {streams: StreamInfo[]; selected: number; columns: number; height: number}) {
  return (
    <Box flexDirection="column">
      <Text dimColor>{fit('  stream                    kind      length  oldest   policy   (c compact)', columns)}</Text>
      {streams.length === 0 && <Text>  no streams</Text>}
      {streams.slice(0, height - 1).map((stream, i) => (
        <Text key={stream.key} inverse={i === selected}>
          {fit(
            `${i === selected ? '›' : ' '} ${fit(stream.name, 24)} ${fit(stream.kind, 7)}${fit(compact(stream.length), 9, 'right')}${fit(formatDuration(stream.oldestAgeMs), 8, 'right')}   ${stream.policy ? [stream.policy.keepKey && `key ${stream.policy.keepKey}`, stream.policy.maxCount !== undefined && `max ${stream.policy.maxCount}`, stream.policy.maxAgeMs !== undefined && `age ${formatDuration(stream.policy.maxAgeMs)}`].filter(Boolean).join(' ') : 'none'}`,
            columns,
          )}
        </Text>
      ))}
    </Box>
  )
}

function ListView({title, lines, columns}: {title: string; lines: string[]; columns: number}) {
  return (
    <Box flexDirection="column">
      <Text dimColor>{fit(`  ${title}`, columns)}</Text>
      {lines.length === 0 && <Text>  nothing yet</Text>}
      {lines.map((line, i) => (
        <Text key={i}>{fit(`  ${line}`, columns)}</Text>
      ))}
    </Box>
  )
}

function Footer({confirming, busy, message, view, columns, spinner, keyHints}: {confirming: Pending | null; busy: {label: string} | null; message: string | null; view: View; columns: number; spinner: string; keyHints: boolean}) {
  if (confirming) return <Text color="yellow">{fit(`${confirming.question} (y/n)`, columns)}</Text>
  if (busy) return <Text color="cyan">{fit(`${spinner} ${busy.label}…`, columns)}</Text>
  return (
    <Box flexDirection="column">
      <Text>{fit(message ?? '', columns)}</Text>
      {keyHints && <Text dimColor>{fit(hintLine(view === 'tables' ? TABLE_KEYS : OTHER_KEYS, columns), columns)}</Text>}
    </Box>
  )
}

const TABLE_KEYS = ['↑↓ select', 'f flush', 'F all', 'l locks', 'd dead letters', 's streams', 'e events', 'p pause']
const OTHER_KEYS = ['Esc back']
/** Always shown, at the end: how to learn the rest and how to leave. */
const LAST_KEYS = ['? help', 'q quit']

/** As many hints as fit in `columns`, in order, then `? help · q quit`, which always fit. */
export function hintLine(keys: string[], columns: number): string {
  const shown: string[] = []
  const line = (extra: string[]) => [...extra, ...LAST_KEYS].join(' · ')
  for (const key of keys) {
    if (line([...shown, key]).length > columns) break
    shown.push(key)
  }
  return line(shown)
}
