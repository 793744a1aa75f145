import {mkdtempSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import knexFactory, {type Knex} from 'knex'

import {resolveConnection} from '../../src/core/config/connections.js'
import {available, urls} from './services.js'

export type DialectName = 'sqlite' | 'postgres' | 'mysql'

/** A database for one test file: its URL for wbc's config, a knex of its own, and its tables. */
export interface TestDb {
  dialect: DialectName
  url: string
  knex: Knex
  /** Tables this file created (dropped by cleanup). */
  created: string[]
  cleanup(): Promise<void>
}

export const dialectsUp: Record<DialectName, boolean> = {
  sqlite: true,
  postgres: await available('postgres'),
  mysql: await available('mysql'),
}

export async function openTestDb(dialect: DialectName): Promise<TestDb> {
  const url = dialect === 'sqlite' ? `sqlite:${join(mkdtempSync(join(tmpdir(), 'wbc-db-')), 'test.sqlite')}` : urls[dialect]
  const knex = knexFactory(resolveConnection('test', url).knex)
  const db: TestDb = {
    dialect,
    url,
    knex,
    created: [],
    async cleanup() {
      for (const table of db.created) await knex.schema.dropTableIfExists(table)
      await knex.destroy()
    },
  }
  return db
}

/** Creates `{prefix}_posts`-style tables used across the engine tests; returns their names. */
export async function createPostsTable(db: TestDb, name: string, rows: number): Promise<void> {
  await db.knex.schema.dropTableIfExists(name)
  await db.knex.schema.createTable(name, (t) => {
    t.integer('id').primary()
    t.integer('views').notNullable().defaultTo(0)
    t.integer('likes').notNullable().defaultTo(0)
    t.string('title', 200)
    t.string('last_ip', 64)
  })
  db.created.push(name)
  for (let i = 0; i < rows; i += 500) {
    await db.knex(name).insert(Array.from({length: Math.min(500, rows - i)}, (_, j) => ({id: i + j + 1, views: 0, likes: 0})))
  }
}

export async function createLogTable(db: TestDb, name: string): Promise<void> {
  await db.knex.schema.dropTableIfExists(name)
  await db.knex.schema.createTable(name, (t) => {
    t.increments('id')
    t.integer('user_id').notNullable()
    t.string('action', 40).notNullable()
    t.integer('seq').notNullable()
  })
  db.created.push(name)
}
