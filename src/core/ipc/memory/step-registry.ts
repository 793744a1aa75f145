import type {MemoryStore} from './store.js'

/**
 * What the primary makes durable in its checkpoint before it answers a step (with a checkpoint):
 * - `write-behind`: nothing at once; the changes reach the file with the next full checkpoint.
 * - `mirrored`: the changes are written at once, but the answer does not wait for the write.
 * - `before-reply`: the changes are written at once and the answer waits until the file holds them.
 * Plain store operations (set, hset, del, …) are `before-reply`.
 */
export type StepDurability = 'write-behind' | 'mirrored' | 'before-reply'

/** A step the primary runs as one request: synchronous, so no other request sees half of it. */
export interface MemoryStep {
  durability: StepDurability
  run(store: MemoryStore, ...args: never[]): unknown
}

/**
 * The steps of the layers above, by name (the write buffer registers its own: src/core/buffer/steps).
 * Registered in every process that runs a primary, before it serves anyone; the names must not be
 * those of store methods.
 */
const steps = new Map<string, MemoryStep & {run(store: MemoryStore, ...args: unknown[]): unknown}>()

export function registerSteps(table: Record<string, MemoryStep>): void {
  for (const [name, step] of Object.entries(table)) steps.set(name, step as MemoryStep & {run(store: MemoryStore, ...args: unknown[]): unknown})
}

export function registeredStep(name: unknown): (MemoryStep & {run(store: MemoryStore, ...args: unknown[]): unknown}) | undefined {
  return typeof name === 'string' ? steps.get(name) : undefined
}
