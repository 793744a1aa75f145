/** A small seeded generator (mulberry32): the same seed gives the same run of choices. */
export class Random {
  private state: number

  constructor(seed: number) {
    this.state = seed >>> 0
  }

  /** A float in [0, 1). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0
    let t = this.state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }

  /** An integer in [min, max]. */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1))
  }

  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.next() * items.length)]
  }
}

/** Derives an independent seed for a sub-stream (a writer, a loop) from the run's seed. */
export function childSeed(seed: number, ...path: number[]): number {
  let h = seed >>> 0
  for (const part of path) h = Math.imul(h ^ (part + 0x9e3779b9), 0x85ebca6b) >>> 0
  return h
}
