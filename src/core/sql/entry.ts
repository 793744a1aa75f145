import type {Json} from '../ipc/types.js'

/** A row address as SQL gets it: a flat object of column → scalar. */
export type WhereObject = Record<string, string | number | boolean | null>

/** One change to apply to a table, as the write buffer hands it to SQL (see buffer/entries.ts). */
export type Entry =
  | {
      kind: 'update'
      member: string
      where: WhereObject
      fields: Record<string, Json>
      /** When the row's fields were last written (ms), if the state recorded it; orders updates that reach one row. */
      at?: number
    }
  | {kind: 'counter'; members: string[]; where: WhereObject; deltas: Record<string, number>}
  | {kind: 'insert'; row: Record<string, Json>}
