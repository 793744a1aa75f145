import {describe, expect, it} from 'vitest'

import type {FlushProgress} from '../../src/core/buffer/flusher.js'
import type {LeaseRecord} from '../../src/core/ipc/types.js'
import {describeProgress, progressDisplay} from '../../src/ui/progress.js'

const holder: LeaseRecord = {key: 'p:lock:flush', token: 't', host: 'db-host', pid: 4242, acquiredAt: 0, fence: 3, ttlLeftMs: 20_000, legacy: false}
const step = (s: FlushProgress['step'], extra: Partial<FlushProgress> = {}): FlushProgress => ({step: s, connection: 'default', table: 'posts', batches: 1, rows: 5000, ...extra})

function sink(columns?: number) {
  const writes: string[] = []
  return {writes, out: {columns, write: (text: string) => writes.push(text)}}
}

describe('progress on stderr', () => {
  it('on a terminal: one line rewritten in place for every step and every wait, cut to the width, cleared at the end', () => {
    const {writes, out} = sink(40)
    const display = progressDisplay('line', out)
    display.waiting(holder, 3000)
    display.waiting(holder, 2500)
    display.update(step('recover', {of: {index: 1, total: 2}}))
    display.update(step('claim'))
    display.update(step('apply'))
    display.update(step('retry', {retry: {attempt: 1, attempts: 5, error: 'lock timeout'}}))
    display.update(step('applied'))
    display.done()
    expect(writes).toHaveLength(8)
    for (const write of writes) {
      expect(write.startsWith('\r\u001B[2K')).toBe(true)
      expect(write).not.toContain('\n')
      expect(write.length - '\r\u001B[2K'.length).toBeLessThanOrEqual(39)
    }
    expect(writes[0]).toContain('waiting for the flush lease')
    expect(writes.at(-1)).toBe('\r\u001B[2K')
  })

  it('piped: says once that it waits, nothing per step, nothing to clear', () => {
    const {writes, out} = sink()
    const display = progressDisplay('notes', out)
    for (let i = 0; i < 6; i++) display.waiting(holder, 3000 - i * 500)
    display.update(step('apply'))
    display.done()
    expect(writes).toEqual(['waiting up to 3s for the flush lease held by db-host pid 4242…\n'])
  })

  it('under --json: nothing', () => {
    const {writes, out} = sink()
    const display = progressDisplay('off', out)
    display.waiting(holder, 3000)
    display.update(step('claim'))
    display.done()
    expect(writes).toEqual([])
  })

  it('names each step: batches left in flight, claims, writes, retries, rows', () => {
    expect(describeProgress(step('recover', {of: {index: 2, total: 7}}))).toBe('finishing batch 2 of 7 left in flight (default:posts)')
    expect(describeProgress(step('claim'))).toBe('claiming default:posts — 1 batch, 5000 rows so far')
    expect(describeProgress(step('apply', {batches: 2}))).toBe('writing default:posts — 2 batches, 5000 rows so far (in the database)')
    expect(describeProgress(step('retry', {retry: {attempt: 2, attempts: 5, error: 'deadlock'}}))).toBe('default:posts: deadlock — retry 2 of 4…')
    expect(describeProgress(step('applied', {rows: 12}))).toBe('flushed default:posts — 1 batch, 12 rows')
  })

  it('keeps a host name from driving the terminal', () => {
    const {writes, out} = sink()
    progressDisplay('notes', out).waiting({...holder, host: 'evil\u001B[2J\nhost'}, 1000)
    expect(writes.join('')).not.toContain('\u001B[2J')
    expect(writes.join('').split('\n')).toHaveLength(2)
  })
})
