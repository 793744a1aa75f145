import {createHash} from 'node:crypto'

import type {Json} from '../ipc/types.js'

/** What the compactor and the atomic chunk step both hash: the entries' JSON joined with newlines. */
export const chunkSha = (items: Json[]) =>
  createHash('sha1')
    .update(items.map((item) => JSON.stringify(item)).join('\n'))
    .digest('hex')
