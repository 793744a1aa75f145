import type {Json} from '../../../core/ipc/types.js'
import {ListView} from './ListView.js'

/** The engine's event stream, then what this dashboard saw, newest last, as many as fit. */
export function EventsView({history, events, columns, height}: {history: Json[]; events: string[]; columns: number; height: number}) {
  return <ListView title="recent events: the event stream, then what this dashboard saw" lines={[...history.map(describeEvent), ...events].slice(-height)} columns={columns} />
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
