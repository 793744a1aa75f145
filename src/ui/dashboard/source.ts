import type {DeadLetter} from '../../core/buffer/dead-letters.js'
import type {FlushReport} from '../../core/buffer/flusher.js'
import type {LockInfo, ReleaseResult} from '../../core/inspect/locks.js'
import type {TableTotals} from '../../core/inspect/stats.js'
import type {StatusReport} from '../../core/inspect/status.js'
import type {CompactResult} from '../../core/streams/compact.js'
import type {StreamInfo} from '../../core/streams/streams.js'
import type {Json} from '../../core/ipc/types.js'

export interface DashboardSnapshot {
  at: number
  status: StatusReport
  totals: Record<string, TableTotals>
  locks: LockInfo[]
}

/**
 * What the dashboard reads and does, through the same core APIs as the commands. Component tests
 * hand it a fake; the command hands it the real one.
 */
export interface DashboardSource {
  read(): Promise<DashboardSnapshot>
  deadLetters(connection: string, table: string): Promise<DeadLetter[]>
  flush(filter: {connection?: string; table?: string}): Promise<FlushReport>
  releaseLock(key: string, force: boolean): Promise<ReleaseResult>
  retryDeadLetter(connection: string, table: string, id: string): Promise<number>
  dropDeadLetter(connection: string, table: string, id: string): Promise<number>
  streams(): Promise<StreamInfo[]>
  /** The newest entries of the engine's event stream, oldest first. */
  events(limit: number): Promise<Json[]>
  /** Compacts a stream with its configured policy (refused for a stream without one). */
  compact(name: string): Promise<CompactResult>
  close(): Promise<void>
}
