import {afterEach, describe, expect, it} from 'vitest'

import type {WriteBuffer} from '../../../src/core/buffer/write-buffer.js'
import {createPostsTable, openTestDb, type TestDb} from '../../support/db.js'
import {engineConfig, openEngine} from '../../support/engine.js'
import {uniquePrefix} from '../../support/services.js'

/** Settles with what the promise settled with, or 'pending' when it has not within `ms`. */
const within = <T>(promise: Promise<T>, ms: number) =>
  Promise.race([
    promise.then(
      (value) => ({value}),
      (error: unknown) => ({error}),
    ),
    new Promise<'pending'>((resolve) => setTimeout(() => resolve('pending'), ms)),
  ])

/** The increment path of the write buffer (startWrite/written, cached row handles, batched memory requests). */
describe('increment path, memory driver + sqlite', () => {
  const opened: WriteBuffer[] = []
  let db: TestDb | undefined
  afterEach(async () => {
    for (const wb of opened.splice(0).reverse()) await wb.close().catch(() => {})
    await db?.cleanup()
    db = undefined
  })

  it('a cold increment whose total cannot be read (connection not configured) rejects, and close() still returns', async () => {
    db = await openTestDb('sqlite')
    const wb = await openEngine(engineConfig('memory', db.url, uniquePrefix()), {checkpoint: false})
    await expect(wb.connection('other').table('posts').where(1).increment('views')).rejects.toMatchObject({code: 'CONFIG_INVALID'})
    expect(await within(wb.close(), 5000)).not.toBe('pending')
  })

  it('a table handle the write buffer does not keep (past 1,000 tables) does not cache row handles', async () => {
    db = await openTestDb('sqlite')
    const wb = await openEngine(engineConfig('memory', db.url, uniquePrefix()), {checkpoint: false})
    opened.push(wb)
    for (let t = 0; t < 1000; t++) wb.table(`t${t}`)
    expect(wb.table('t0').where(1)).toBe(wb.table('t0').where(1))
    // No one could drop its cache when the limit of cached rows is passed.
    const late = wb.table('late')
    expect(late.where(1)).not.toBe(late.where(1))
  })

  it('socket client: an increment refused in its batch (it would take the counter past the largest double) fails alone; the others are answered', async () => {
    db = await openTestDb('sqlite')
    const table = `${uniquePrefix()}_inf`
    await createPostsTable(db, table, 2)
    db.created.push(table)
    const config = engineConfig('memory', db.url, uniquePrefix())
    const primary = await openEngine(config, {serveSocket: true, checkpoint: false})
    opened.push(primary)
    const app = await openEngine(config, {role: 'socket'})
    opened.push(app)
    expect(await app.table(table).where(1).increment('views', 0)).toBe(0)
    expect(await app.table(table).where(2).increment('views', 1e308)).toBe(1e308)
    // One batch: the first would overflow to Infinity (refused, the counter left as it is).
    const batch = [app.table(table).where(2).increment('views', 1e308), app.table(table).where(1).increment('views', 1), app.table(table).where(1).increment('views', 1)]
    const settled = await within(Promise.allSettled(batch), 5000)
    expect(settled).not.toBe('pending')
    const [overflow, first, second] = (settled as {value: Array<PromiseSettledResult<number>>}).value
    expect(overflow).toMatchObject({status: 'rejected', reason: {name: 'InvalidArgument'}})
    expect([first, second]).toEqual([
      {status: 'fulfilled', value: 1},
      {status: 'fulfilled', value: 2},
    ])
    expect(await app.table(table).where(2).increment('views', 0)).toBe(1e308)
    expect(await within(app.close(), 5000)).not.toBe('pending')
  })

  it('a member that is not a string (sent by another process) fails alone and names no key of another member', async () => {
    db = await openTestDb('sqlite')
    const prefix = uniquePrefix()
    const wb = await openEngine(engineConfig('memory', db.url, prefix), {checkpoint: false})
    opened.push(wb)
    const call = (args: unknown[]) => (wb.ipc as unknown as {stepHost: {call(name: string, args: unknown[]): Promise<unknown[]>}}).stepHost.call('increment', args)
    const answer = await call([prefix, ['default:posts:2:views'], 5, 'default:posts:1:views', 1])
    expect(answer[0]).toMatchObject({name: 'InvalidArgument'})
    expect(answer.slice(4)).toEqual([1, null, 0, ['0']])
    expect(await wb.ipc.get(`${prefix}:c:default:posts:2:views`)).toBeNull()
    expect((await wb.ipc.smembers(`${prefix}:idx:counters`)).sort()).toEqual(['default:posts:1:views'])
  })
})
