/**
 * A Map that can be walked page by page with a numeric cursor that stays valid while keys are
 * added and removed (like Redis SCAN: whatever exists for the whole walk is returned once).
 * Each key gets a sequence number when created; `order` keeps its slots ascending so a cursor is
 * a binary search away. A deleted key's slot is marked dead (no lookup needed to skip it) and
 * swept when dead slots outnumber live ones.
 */
interface Slot<V> {
  seq: number
  key: string
  value: V
  dead: boolean
}

export class SeekableMap<V> {
  private readonly items = new Map<string, Slot<V>>()
  private order: Array<Slot<V>> = []
  private nextSeq = 1

  get size(): number {
    return this.items.size
  }

  get(key: string): V | undefined {
    return this.items.get(key)?.value
  }

  has(key: string): boolean {
    return this.items.has(key)
  }

  set(key: string, value: V): void {
    const slot = this.items.get(key)
    if (slot) {
      slot.value = value
      return
    }
    const created = {seq: this.nextSeq++, key, value, dead: false}
    this.items.set(key, created)
    this.order.push(created)
  }

  delete(key: string): boolean {
    const slot = this.items.get(key)
    if (!slot) return false
    this.items.delete(key)
    slot.dead = true
    if (this.order.length > 1024 && this.order.length > 2 * this.items.size) this.order = this.order.filter((s) => !s.dead)
    return true
  }

  keys(): IterableIterator<string> {
    return this.items.keys()
  }

  *entries(): IterableIterator<[string, {seq: number; value: V}]> {
    for (const [key, slot] of this.items) yield [key, slot]
  }

  /**
   * Up to `count` live keys after `cursor` (0 = from the start), filtered by `accept`.
   * Returns the cursor to continue from, 0 when the walk is done.
   */
  page(cursor: number, count: number, accept: (key: string, value: V) => boolean): {cursor: number; keys: string[]} {
    let lo = 0
    let hi = this.order.length
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      if (this.order[mid].seq <= cursor) lo = mid + 1
      else hi = mid
    }
    const keys: string[] = []
    let examined = 0
    let i = lo
    // Bound the work per page, as Redis COUNT does: dead slots count, at a discount.
    const budget = count * 4
    for (; i < this.order.length && examined < count && i - lo < budget; i++) {
      const slot = this.order[i]
      if (slot.dead) continue
      examined++
      if (accept(slot.key, slot.value)) keys.push(slot.key)
    }
    return {cursor: i >= this.order.length ? 0 : this.order[i - 1].seq, keys}
  }
}
