import type {FlushProgress} from '../core/buffer/flusher.js'
import type {WriteBuffer} from '../core/buffer/write-buffer.js'
import type {LoadedConfig} from '../core/config/load.js'
import {createIpc} from '../core/ipc/create.js'
import type {Ipc} from '../core/ipc/types.js'

/**
 * How `wbc` reaches the state: Redis directly, or a running memory-driver application over its
 * socket (wbc never holds memory state of its own unless it recovers a checkpoint offline).
 */
export function openState(loaded: LoadedConfig): Promise<Ipc> {
  return createIpc(loaded.config.ipc, {role: loaded.config.ipc.driver === 'memory' ? 'socket' : 'auto'})
}

/** The engine as an operator's command uses it: no timers, the application's state, the configured databases. */
export async function openEngine(loaded: LoadedConfig, options: {leaseTtlMs?: number; onProgress?: (p: FlushProgress) => void} = {}): Promise<WriteBuffer> {
  // The engine (knex, lmdb) loads only for commands that flush: reads start faster without it.
  const {createWriteBuffer} = await import('../core/buffer/write-buffer.js')
  return createWriteBuffer(loaded.config, {
    role: loaded.config.ipc.driver === 'memory' ? 'socket' : 'auto',
    timers: false,
    checkpoint: false,
    leaseTtlMs: options.leaseTtlMs,
    onProgress: options.onProgress,
  })
}
