import cluster from 'node:cluster'

import type {IpcConfig} from '../config/schema.js'
import {IpcClient} from './client.js'
import type {RedisTarget} from './redis/driver.js'
import type {Ipc} from './types.js'

export interface CreateIpcOptions {
  /**
   * For the memory driver: `primary` holds the state in this process (and answers cluster workers),
   * `worker` reaches the cluster primary, `socket` reaches a running application's primary over
   * `ipc.socket` (what `wbc` does). `auto`: worker inside a cluster worker, else primary.
   */
  role?: 'auto' | 'primary' | 'worker' | 'socket'
  /** For a memory primary: serve `ipc.socket` so that `wbc` can reach this state. Default true. */
  serveSocket?: boolean
  /** For a memory primary: recover this LMDB checkpoint, then keep it (write-behind's crash safety). */
  checkpoint?: {path: string; intervalMs: number}
}

/** Opens the Ipc the config describes. Throws ServiceUnavailable when it cannot be reached. */
export async function createIpc(config: IpcConfig, options: CreateIpcOptions = {}): Promise<Ipc> {
  if (config.driver === 'redis') {
    // ioredis loads only when Redis is used.
    const {RedisDriver} = await import('./redis/driver.js')
    const driver = await RedisDriver.connect(config.redis as RedisTarget, {
      connectTimeoutMs: config.connectTimeout,
      commandTimeoutMs: config.requestTimeout,
    })
    return new IpcClient(driver)
  }
  // The memory driver (and LMDB behind its checkpoint) loads only when it is used: `wbc` against
  // Redis starts without it.
  const [{ClusterChannel, LocalChannel, SocketChannel}, {MemoryDriver}, {MemoryPrimary}] = await Promise.all([
    import('./memory/channels.js'),
    import('./memory/driver.js'),
    import('./memory/primary.js'),
  ])
  const role = !options.role || options.role === 'auto' ? (cluster.isWorker ? 'worker' : 'primary') : options.role
  if (role === 'socket') {
    const channel = await SocketChannel.connect(config.socket, config.connectTimeout, config.allowForeignOwner, config.maxRequestBytes)
    return new IpcClient(new MemoryDriver(channel, config.requestTimeout))
  }
  if (role === 'worker') return new IpcClient(new MemoryDriver(new ClusterChannel(), config.requestTimeout))

  const primary = new MemoryPrimary({maxRequestBytes: config.maxRequestBytes, maxConnections: config.maxConnections, idleTimeoutMs: config.idleTimeout})
  try {
    // Recover before anyone can write: the checkpoint first, then workers and the socket.
    if (options.checkpoint) await primary.attachCheckpoint(options.checkpoint.path, config.prefix, options.checkpoint.intervalMs, config.allowForeignOwner)
    primary.attachCluster()
    if (options.serveSocket !== false) await primary.serveSocket(config.socket, config.allowForeignOwner)
  } catch (error) {
    // This primary served no one: its checkpoint (if it got one) is left exactly as it was.
    await primary.close({writeCheckpoint: false}).catch(() => {})
    throw error
  }
  return new IpcClient(new MemoryDriver(new LocalChannel(primary), config.requestTimeout, () => primary.close()))
}
