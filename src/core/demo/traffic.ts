import type {Knex} from 'knex'

import type {WriteBuffer} from '../buffer/write-buffer.js'

export const DEMO_TABLES = {posts: 'demo_posts', users: 'demo_users', activity: 'demo_activity'} as const
const POSTS = 1000
const USERS = 200

/** Creates and seeds the demo tables when they are missing. */
export async function prepareDemoTables(knex: Knex): Promise<void> {
  if (!(await knex.schema.hasTable(DEMO_TABLES.posts))) {
    await knex.schema.createTable(DEMO_TABLES.posts, (t) => {
      t.integer('id').primary()
      t.integer('views').notNullable().defaultTo(0)
      t.integer('likes').notNullable().defaultTo(0)
      t.string('title', 100)
    })
    for (let i = 0; i < POSTS; i += 250) {
      await knex(DEMO_TABLES.posts).insert(Array.from({length: 250}, (_, j) => ({id: i + j + 1, views: 0, likes: 0, title: `Post ${i + j + 1}`})))
    }
  }
  if (!(await knex.schema.hasTable(DEMO_TABLES.users))) {
    await knex.schema.createTable(DEMO_TABLES.users, (t) => {
      t.integer('id').primary()
      t.string('last_seen', 40)
      t.string('last_ip', 40)
    })
    await knex(DEMO_TABLES.users).insert(Array.from({length: USERS}, (_, i) => ({id: i + 1})))
  }
  if (!(await knex.schema.hasTable(DEMO_TABLES.activity))) {
    await knex.schema.createTable(DEMO_TABLES.activity, (t) => {
      t.increments('id')
      t.integer('user_id').notNullable()
      t.string('action', 20).notNullable()
      t.string('at', 40).notNullable()
    })
  }
}

export interface DemoTotals {
  views: number
  likes: number
  activity: number
}

export async function demoTotals(knex: Knex): Promise<DemoTotals> {
  const [posts] = await knex(DEMO_TABLES.posts).sum({views: 'views', likes: 'likes'})
  const [activity] = await knex(DEMO_TABLES.activity).count({n: '*'})
  return {views: Number(posts.views ?? 0), likes: Number(posts.likes ?? 0), activity: Number(activity.n ?? 0)}
}

/**
 * Realistic traffic: page views skewed towards popular posts, some likes, users seen from
 * addresses, an activity row per view. Returns what it wrote, to be compared with the database.
 */
export class DemoTraffic {
  readonly written: DemoTotals & {updates: number} = {views: 0, likes: 0, activity: 0, updates: 0}
  private running = false
  private loop?: Promise<void>

  constructor(
    private readonly wb: WriteBuffer,
    private readonly perSecond: number,
  ) {}

  start(): void {
    this.running = true
    this.loop = this.run()
  }

  get active(): boolean {
    return this.running
  }

  async stop(): Promise<void> {
    this.running = false
    await this.loop
  }

  private async run(): Promise<void> {
    const tickMs = 50
    while (this.running) {
      const started = Date.now()
      const burst = Math.max(1, Math.round((this.perSecond * tickMs) / 1000))
      const writes: Array<Promise<unknown>> = []
      for (let i = 0; i < burst; i++) writes.push(...this.visit())
      await Promise.all(writes)
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, tickMs - (Date.now() - started))))
    }
  }

  private visit(): Array<Promise<unknown>> {
    // Popular posts get most views: the square of a uniform number favours low ids.
    const post = 1 + Math.floor(Math.random() ** 2 * POSTS)
    const user = 1 + Math.floor(Math.random() * USERS)
    const at = new Date().toISOString()
    const writes: Array<Promise<unknown>> = [
      this.wb.table(DEMO_TABLES.posts).where(post).increment('views'),
      this.wb
        .table(DEMO_TABLES.users)
        .where(user)
        .update({last_seen: at, last_ip: `10.0.${user % 256}.${post % 256}`}),
      this.wb.table(DEMO_TABLES.activity).insert({user_id: user, action: 'view', at}),
    ]
    this.written.views++
    this.written.updates++
    this.written.activity++
    if (Math.random() < 0.1) {
      writes.push(this.wb.table(DEMO_TABLES.posts).where(post).increment('likes'))
      this.written.likes++
    }
    return writes
  }
}
