/** A statement and its bindings, as the apply runs it (a leaf: the statement builders share it). */
export interface Statement {
  sql: string
  bindings: unknown[]
}

/** A column of a derived table of literal rows: its alias and, where the dialect needs one, its cast. */
export interface DerivedColumn {
  alias: string
  cast?: string
}
