import type {Knex} from 'knex'

/** A transaction rolled back because the caller's signal fired. */
export class TransactionAborted extends Error {
  constructor() {
    super('the transaction was rolled back: the flush was stopped')
  }
}

/**
 * A transaction the signal rolls back: once it fires, the statement running (waiting for a row
 * lock, say) is cancelled on the server (PostgreSQL `pg_cancel_backend`, MySQL `KILL QUERY`,
 * through knex's own cancel; SQLite statements do not wait on the event loop), and the work's
 * result is not committed — the handler rejects, so knex rolls back. A commit already sent stays.
 */
export async function abortableTransaction<T>(knex: Knex, signal: AbortSignal | undefined, work: (trx: Knex.Transaction) => Promise<T>): Promise<T> {
  if (!signal) return knex.transaction(work)
  if (signal.aborted) throw new TransactionAborted()
  return knex.transaction(async (trx) => {
    const cancel = () => void cancelRunning(knex, trx)
    signal.addEventListener('abort', cancel, {once: true})
    try {
      const result = await work(trx)
      if (signal.aborted) throw new TransactionAborted()
      return result
    } catch (error) {
      throw signal.aborted ? new TransactionAborted() : error
    } finally {
      signal.removeEventListener('abort', cancel)
    }
  })
}

/** Cancels the statement the transaction's connection runs, from a connection of its own. */
async function cancelRunning(knex: Knex, trx: Knex.Transaction): Promise<void> {
  try {
    const client = knex.client as {cancelQuery?: (connection: unknown) => Promise<unknown>}
    const connection = await (trx.client as {acquireConnection: () => Promise<unknown>}).acquireConnection()
    await client.cancelQuery?.(connection)
  } catch {
    // Not supported (SQLite) or the statement finished meanwhile: the rollback follows either way.
  }
}
