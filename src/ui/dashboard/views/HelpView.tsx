import {ListView} from './ListView.js'

const HELP = [
  '↑/↓ select        f flush table      F flush all       p pause/resume',
  'l locks           r release lock     d dead letters    Enter details, R retry, x drop',
  's streams (c compact with its policy)  e events  t tables  Esc back',
  '? help            q or Ctrl-C quit',
  'Every action asks y/n first; a live lease holder is only released when confirmed as forced.',
]

/** Every key (the footer shows only those that fit). */
export function HelpView({columns}: {columns: number}) {
  return <ListView title="keys" lines={HELP} columns={columns} />
}
