import type {Ipc, Lease} from '../../ipc/types.js'
import type {KeySpace} from '../keys.js'

/**
 * The flush lease as one run holds it: renewed every TTL/3 in the background, checked right
 * before every claim and commit, and re-taken under a higher fence when the fence catches up.
 * Once lost it stays lost for the run: nothing more is claimed or committed under it.
 */
export class RunLease {
  lost = false
  /** performance.now() until which the lease is certainly held (its last renewal's request time + TTL). */
  private validUntil: number
  private renewal?: ReturnType<typeof setInterval>

  constructor(
    private readonly ipc: Ipc,
    private readonly keys: KeySpace,
    /** The lease now held (replaced when the fence catches up). */
    public current: Lease,
    private readonly ttlMs: number,
    /** performance.now() when the lease was requested. */
    requestedAt: number,
  ) {
    this.validUntil = requestedAt + ttlMs
  }

  /** Renews every TTL/3 until stopRenewing(); the timer does not keep the process alive. */
  startRenewing(): void {
    this.renewal = setInterval(() => void this.renew(), Math.max(100, this.ttlMs / 3))
    this.renewal.unref()
  }

  stopRenewing(): void {
    clearInterval(this.renewal)
  }

  /**
   * Extends the lease. A renewal that fails — refused, or an error (the store may have expired
   * it meanwhile) — counts as lost: nothing more is claimed or committed under it.
   */
  async renew(): Promise<boolean> {
    if (this.lost) return false
    const sentAt = performance.now()
    try {
      if (await this.ipc.renew(this.current, this.ttlMs / 1000)) {
        this.validUntil = Math.max(this.validUntil, sentAt + this.ttlMs)
        return true
      }
    } catch {
      // Unknown whether it was extended: treat the lease as lost.
    }
    this.lost = true
    return false
  }

  /**
   * Right before a claim or a commit: the lease must still be ours. A process that stalled (GC
   * pause, frozen VM) past its lease notices here, before touching anything; one whose periodic
   * renewal is overdue renews now.
   */
  async held(): Promise<boolean> {
    if (this.lost) return false
    const now = performance.now()
    if (now >= this.validUntil) {
      this.lost = true
      return false
    }
    if (this.validUntil - now < (this.ttlMs * 2) / 3) return this.renew()
    return true
  }

  /** Moves the store's fence counter past `stored` and re-takes the lease under a fence above it. */
  async moveFencePast(stored: number): Promise<boolean> {
    const holder = await this.ipc.inspectLock(this.keys.flushLock)
    if (holder?.token !== this.current.token) return false
    const requestedAt = performance.now()
    const fenceKey = this.keys.flushFence
    const current = Number((await this.ipc.get(fenceKey)) ?? 0)
    if (stored >= current) await this.ipc.incrBy(fenceKey, stored - current + 1)
    const unlocked = await this.ipc.unlock(this.keys.flushLock, this.current.token)
    if (!unlocked.released) return false
    const lease = await this.ipc.lock(this.keys.flushLock, this.ttlMs / 1000)
    if (!lease) {
      this.lost = true
      return false
    }
    this.current = lease
    this.validUntil = requestedAt + this.ttlMs
    return true
  }
}
