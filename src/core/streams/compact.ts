import {closeSync, fsyncSync, ftruncateSync, fstatSync, writeSync} from 'node:fs'

import {ExitCode, WbcError} from '../errors.js'
import {openPrivateAppend} from '../fs/safe-files.js'
import {chunkSha} from './chunk.js'
import type {Ipc, Json} from '../ipc/types.js'
import {entryTime, isEmptyPolicy, type StreamPolicy} from './policy.js'
import {stepsFor} from '../buffer/steps/index.js'

const CHUNK = 1000

export interface CompactResult {
  key: string
  dryRun: boolean
  /** Entries present when compaction started. */
  examined: number
  removed: number
  kept: number
  archive: string | null
}

/**
 * Compacts a list in bounded chunks. Pass 1 reads the entries present at the start (a page at a
 * time) and decides, per entry: keep-key keeps the newest entry of each value of the field,
 * max-count the newest N, max-age the entries younger than the limit. Pass 2 removes chunk by
 * chunk with one atomic step each, which first checks that the chunk is still what pass 1 read;
 * entries appended meanwhile sit at the tail and are never touched. Removed entries go to the
 * archive (NDJSON, synced) before they are removed; a chunk that changed is taken back out of it.
 */
export async function compactStream(ipc: Ipc, key: string, policy: StreamPolicy, options: {dryRun?: boolean; archive?: string; now?: number} = {}): Promise<CompactResult> {
  if (isEmptyPolicy(policy)) {
    throw new WbcError('NO_POLICY', `no compaction rule for ${key}`, {
      exitCode: ExitCode.usage,
      hint: 'Give --keep-key FIELD, --max-count N or --max-age DURATION (or a policy under "streams" in the config).',
    })
  }
  const now = options.now ?? Date.now()
  const examined = await ipc.llen(key)
  const latest = new Map<string, number>()
  const shas: string[] = []
  // Pass 1: hashes of every chunk, and the last index of each keep-key value.
  for (let start = 0; start < examined; start += CHUNK) {
    const items = await ipc.lrange(key, start, Math.min(examined, start + CHUNK) - 1)
    shas.push(chunkSha(items))
    if (policy.keepKey)
      items.forEach((item, i) => {
        const value = fieldOf(item, policy.keepKey!)
        if (value !== null) latest.set(value, start + i)
      })
  }
  const keep = (item: Json, index: number) => {
    if (policy.maxCount !== undefined && index < examined - policy.maxCount) return false
    if (policy.maxAgeMs !== undefined) {
      const at = entryTime(item, policy.timeField)
      if (at !== null && at < now - policy.maxAgeMs) return false
    }
    if (policy.keepKey) {
      const value = fieldOf(item, policy.keepKey)
      if (value !== null && latest.get(value) !== index) return false
    }
    return true
  }

  let removed = 0
  let position = 0
  const archive = options.archive && !options.dryRun ? openPrivateAppend(options.archive, 'the archive') : null
  try {
    for (let start = 0, chunk = 0; start < examined; start += CHUNK, chunk++) {
      const count = Math.min(CHUNK, examined - start)
      const items = await ipc.lrange(key, position, position + count - 1)
      if (items.length !== count || chunkSha(items) !== shas[chunk]) throw changed(key)
      const mask = items.map((item, i) => (keep(item, start + i) ? '1' : '0')).join('')
      const gone = items.filter((_, i) => mask[i] === '0')
      if (options.dryRun || gone.length === 0) {
        removed += gone.length
        position += count
        continue
      }
      const before = archive === null ? 0 : fstatSync(archive).size
      if (archive !== null) {
        writeSync(archive, gone.map((item) => `${JSON.stringify(item)}\n`).join(''))
        fsyncSync(archive)
      }
      const result = await stepsFor(ipc).compactChunk(key, position, shas[chunk], mask)
      if (result < 0) {
        if (archive !== null) {
          ftruncateSync(archive, before)
          fsyncSync(archive)
        }
        throw changed(key)
      }
      removed += result
      position += count - result
    }
  } finally {
    if (archive !== null) closeSync(archive)
  }
  return {key, dryRun: Boolean(options.dryRun), examined, removed, kept: examined - removed, archive: options.archive ?? null}
}

function fieldOf(item: Json, field: string): string | null {
  if (!item || typeof item !== 'object' || Array.isArray(item)) return null
  const value = (item as Record<string, Json>)[field]
  return value === undefined ? null : JSON.stringify(value)
}

function changed(key: string): WbcError {
  return new WbcError('STREAM_CHANGED', `the head of ${key} changed while compacting (a flush claimed rows, or another compaction ran); what was removed so far stays removed`, {
    exitCode: ExitCode.partial,
    hint: 'Run the compaction again.',
  })
}
