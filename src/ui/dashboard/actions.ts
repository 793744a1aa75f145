import type {DashboardAction} from './reducer.js'
import type {DashboardSource} from './source.js'

/** What runs once the list an action changed must be read again (before its message shows). */
export interface ActionFollowUps {
  /** After a dead letter was retried or dropped. */
  letters: () => Promise<void>
  /** After a stream was compacted. */
  streams: () => Promise<void>
}

/** Carries out a confirmed action through the source; returns the line that reports it. */
export async function runAction(source: DashboardSource, action: DashboardAction, after: ActionFollowUps): Promise<string> {
  switch (action.type) {
    case 'flush-table': {
      const {table} = action
      const report = await source.flush({connection: action.connection, table})
      if (report.status === 'skipped') return `flush of ${table} skipped: the lease is held by ${report.holder?.host ?? '?'} pid ${report.holder?.pid ?? '?'}`
      const t = report.tables.find((r) => r.table === table)
      return `flushed ${table}: ${t ? t.counters + t.updates + t.inserts : 0} rows${t?.deadLettered ? `, ${t.deadLettered} dead-lettered` : ''} (${report.status})`
    }
    case 'flush-all': {
      const report = await source.flush({})
      if (report.status === 'skipped') return 'flush skipped: the lease is held by another process'
      return `flushed ${report.tables.reduce((n, t) => n + t.counters + t.updates + t.inserts, 0)} rows in ${report.tables.length} tables (${report.status})`
    }
    case 'release-lock': {
      const result = await source.releaseLock(action.key, action.force)
      return result.released ? `released ${action.key}${result.forced ? ' (forced; its holder is fenced out)' : ''}` : `${action.key} was not held`
    }
    case 'retry-letter':
    case 'drop-letter': {
      const retry = action.type === 'retry-letter'
      const n = retry ? await source.retryDeadLetter(action.connection, action.table, action.id) : await source.dropDeadLetter(action.connection, action.table, action.id)
      await after.letters()
      return `${retry ? 'retried' : 'dropped'} ${n} dead letter${n === 1 ? '' : 's'} of ${action.connection}:${action.table} (${action.id})`
    }
    case 'compact': {
      const result = await source.compact(action.name)
      await after.streams()
      return `compacted ${action.name}: removed ${result.removed}, kept ${result.kept}`
    }
  }
}
