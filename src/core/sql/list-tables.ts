import type {Database} from './databases.js'

/**
 * The tables (and views) a connection reaches by a bare name: PostgreSQL's search_path, MySQL's
 * current database, SQLite's main schema.
 */
export async function listTables(db: Database): Promise<string[]> {
  if (db.dialect === 'postgres') {
    const result = await db.knex.raw(
      `SELECT c.relname AS name FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
       WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f') AND n.nspname = ANY (current_schemas(false))`,
    )
    return (result.rows as Array<{name: string}>).map((r) => r.name)
  }
  if (db.dialect === 'mysql') {
    const result = await db.knex.raw('SELECT table_name AS name FROM information_schema.tables WHERE table_schema = DATABASE()')
    return (result[0] as Array<{name: string}>).map((r) => r.name)
  }
  const rows = (await db.knex.raw(`SELECT name FROM sqlite_master WHERE type IN ('table', 'view')`)) as Array<{name: string}>
  return rows.map((r) => r.name)
}
