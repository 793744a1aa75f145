import type {Ipc} from '../../ipc/types.js'
import type {Database, Databases} from '../../sql/databases.js'
import {ensureLedger, FencedOut, fenceRow, highestFence, storedFence, type FenceRow} from '../../sql/ledger.js'
import type {KeySpace} from '../keys.js'
import {epochKey, holdsPendingState, newEpoch, readEpoch, StoreRolledBack} from '../rollback.js'
import {filterConnections, type TargetFilter} from '../target-filter.js'
import type {RunLease} from './lease.js'

/**
 * The store against the databases, for one run: the epoch marker (redis driver) compared with
 * each database's fence row before its first commit, what a flush transaction commits under, and
 * what a fenced-out commit means — a memory-driver restart whose counter catches up and goes on,
 * or (Redis) a store restored from an older snapshot, which stops flushing (`rolledBack`).
 */
export class StoreCheck {
  /** Set when the store was found behind the database: the flush stops and the error is thrown. */
  rolledBack: StoreRolledBack | null = null
  /** The store's epoch marker (redis driver), read and checked against each database once per run. */
  private epoch: string | null = null
  private readonly storeChecked = new Map<string, Promise<void>>()
  private startState?: Promise<{epoch: string | null; pending: boolean}>

  constructor(
    private readonly ipc: Ipc,
    private readonly keys: KeySpace,
    private readonly dbs: Databases,
    private readonly lease: RunLease,
  ) {}

  /** A database showed the store behind it: the first such finding is thrown, the lease is not used again. */
  refused(error: StoreRolledBack): void {
    this.rolledBack ??= error
    this.lease.lost = true
  }

  /** What a flush transaction commits under: this lease, the store's epoch (redis driver) and the batch's claim mark. */
  committer(mark: number): {fence: number; token: string; epoch: string | null; mark: number} {
    return {fence: this.lease.current.fence, token: this.lease.current.token, epoch: this.epoch, mark}
  }

  /**
   * Redis driver, once per database and run, before its first commit: the store's epoch marker
   * against the one the database recorded (see rollback.ts). A store with no marker gets one — or
   * adopts the database's when it holds nothing a flush could apply twice.
   */
  checkStore(db: Database): Promise<void> {
    if (this.ipc.driver !== 'redis') return Promise.resolve()
    let checked = this.storeChecked.get(db.name)
    if (!checked) {
      checked = this.compareStore(db)
      this.storeChecked.set(db.name, checked)
      // A database that could not be read is compared again by the next batch that reaches it.
      checked.catch((error) => {
        if (!(error instanceof StoreRolledBack)) this.storeChecked.delete(db.name)
      })
    }
    return checked
  }

  /**
   * Redis driver, at the start of a flush: the store against every database. A store found behind
   * stops the flush here; a database that cannot be read now is compared before its first commit.
   */
  async checkStores(filter: TargetFilter): Promise<void> {
    const only = filterConnections(filter)
    for (const name of this.dbs.names()) {
      if (only && !only.includes(name)) continue
      try {
        const db = this.dbs.get(name)
        await ensureLedger(db.knex, this.keys.prefix)
        await this.checkStore(db)
      } catch (error) {
        if (error instanceof StoreRolledBack) {
          this.refused(error)
          return
        }
        if (error instanceof FencedOut) {
          this.lease.lost = true
          return
        }
      }
    }
  }

  private async compareStore(db: Database): Promise<void> {
    const prefix = this.keys.prefix
    const row = await fenceRow(db.knex, prefix)
    const start = await this.storeAtStart()
    if (start.epoch === null) {
      if (row?.epoch && start.pending) {
        throw this.rollback(
          db,
          `its epoch marker is gone while it holds pending writes (the database last committed from epoch ${row.epoch}): it restarted from a snapshot older than that`,
          row.fence,
          row.epoch,
          null,
        )
      }
      // A new (or emptied) store: nothing it held at the start of this flush can have been applied.
      if (this.epoch === null) {
        this.epoch = row?.epoch ?? newEpoch()
        await this.ipc.set(epochKey(prefix), this.epoch)
      }
      if (row && !start.pending && highestFence(row) >= this.lease.current.fence && !(await this.catchUpFence(db))) throw new FencedOut(this.lease.current.fence, row.fence, row)
    } else this.epoch = start.epoch
    if (row?.epoch && row.epoch !== this.epoch) {
      throw this.rollback(
        db,
        `its epoch marker (${this.epoch}) is not the one the database last committed from (${row.epoch}): another store, or one restored from elsewhere`,
        row.fence,
        row.epoch,
        this.epoch,
      )
    }
    // The lease this store just issued is not past what the database committed (a fence or a claim
    // mark): the store went back. Checked before the first commit, so flushes that find nothing to
    // commit cannot move the counter on until it looks current (a restored store holding only
    // dead letters a retry would apply again).
    if (row?.epoch && row.epoch === this.epoch && row.holder !== this.lease.current.token && highestFence(row) >= this.lease.current.fence) {
      throw this.rollback(db, this.behindReason(row), row.fence, row.epoch, this.epoch)
    }
  }

  /** The store's epoch marker as this flush found it, and (when it had none) whether it held pending state then. */
  storeAtStart(): Promise<{epoch: string | null; pending: boolean}> {
    this.startState ??= (async () => {
      const epoch = await readEpoch(this.ipc, this.keys.prefix)
      if (epoch !== null) return {epoch, pending: false}
      const pending = await holdsPendingState(this.ipc, this.keys.prefix)
      return {epoch: pending ? null : await this.adoptDatabases(), pending}
    })()
    return this.startState
  }

  /**
   * A store without an epoch marker that holds nothing (new, or emptied): nothing in it can be
   * applied twice, so it takes the databases' epoch and moves its fence counter past theirs now,
   * before writes arrive (a store without a marker that holds writes is a rollback suspect).
   * A database that cannot be read leaves the marker unset; the next flush tries again.
   */
  private async adoptDatabases(): Promise<string | null> {
    const prefix = this.keys.prefix
    let epoch: string | null = null
    let highest = 0
    try {
      for (const name of this.dbs.names()) {
        const db = this.dbs.get(name)
        await ensureLedger(db.knex, prefix)
        const row = await fenceRow(db.knex, prefix)
        epoch ??= row?.epoch ?? null
        highest = Math.max(highest, highestFence(row))
      }
    } catch {
      return null
    }
    epoch ??= newEpoch()
    await this.ipc.set(epochKey(prefix), epoch)
    if (highest >= this.lease.current.fence) await this.lease.moveFencePast(highest)
    return epoch
  }

  private rollback(db: Database, reason: string, databaseFence: number | null, databaseEpoch: string | null, storeEpoch: string | null): StoreRolledBack {
    return new StoreRolledBack({at: Date.now(), connection: db.name, reason, storeFence: this.lease.current.fence, databaseFence, storeEpoch, databaseEpoch})
  }

  /**
   * A commit was fenced out. A holder that lost its lease stays fenced out (false). One that still
   * holds it was given a fence the database has already seen: on the memory driver an application
   * restart reset the counter (it catches up: true); on Redis the store came back from an older
   * snapshot — flushing stops (StoreRolledBack).
   */
  async afterFencedOut(db: Database, error: FencedOut): Promise<boolean> {
    const holder = await this.ipc.inspectLock(this.keys.flushLock)
    if (holder?.token !== this.lease.current.token) return false
    if (this.ipc.driver !== 'redis') return this.catchUpFence(db)
    const row = error.row
    const reason =
      row && row.epoch !== null && this.epoch !== null && row.epoch !== this.epoch
        ? `its epoch marker (${this.epoch}) is not the one the database last committed from (${row.epoch})`
        : this.behindReason(row)
    throw this.rollback(db, reason, row?.fence ?? null, row?.epoch ?? null, this.epoch)
  }

  /** Why this flush's lease shows the store behind a database's fence row. */
  private behindReason(row: FenceRow | null): string {
    const fence = this.lease.current.fence
    if (row && row.fence === fence) return `it issued fence ${fence} a second time (the database committed that fence under another lease): it restarted from an older snapshot`
    if (row && row.fence < fence && row.mark !== null && row.mark >= fence) {
      return `it issued fence ${fence}, not past the claim mark ${row.mark} the database committed: it restarted from a snapshot taken during a flush, before that claim`
    }
    return `it issued fence ${fence}, behind the database's fence ${row?.fence ?? '?'}: it restarted from an older snapshot`
  }

  /**
   * Fenced out while still holding the lease: the state's fence counter is behind the database
   * (a memory-driver application restarted). Move the counter past the database's fence and
   * continue under a fresh lease; a holder that lost its lease stays fenced out.
   */
  private async catchUpFence(db: Database): Promise<boolean> {
    return this.lease.moveFencePast(await storedFence(db.knex, this.keys.prefix))
  }
}
