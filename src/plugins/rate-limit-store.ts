import type { FastifyRateLimitStore } from '@fastify/rate-limit'

const maxClients = 10_000

/**
 * The rate limit's counters in memory, one fixed window per client key. It replaces
 * @fastify/rate-limit's LocalStore (11.2), which hands every caller the same mutable counter
 * object and reads it only after an await: a burst of concurrent orders from one client all
 * saw the burst's final count, so 6 orders at once under a limit of 5 got six 429s instead of
 * five orders and one 429. Here each increment answers with the count as it was then.
 * Bounded like LocalStore: past `maxClients` keys, the oldest windows are dropped.
 */
export class SnapshotStore implements FastifyRateLimitStore {
  readonly #windows = new Map<string, { count: number; startedAt: number }>()

  incr(
    key: string,
    callback: (error: Error | null, result?: { current: number; ttl: number }) => void,
    timeWindow: number,
  ): void {
    const now = Date.now()
    let window = this.#windows.get(key)
    if (!window || window.startedAt + timeWindow <= now) {
      window = { count: 0, startedAt: now }
      // Re-inserted, so the map stays in order of window start: the oldest are first.
      this.#windows.delete(key)
      this.#windows.set(key, window)
      if (this.#windows.size > maxClients) this.#evict()
    }
    window.count++
    callback(null, { current: window.count, ttl: window.startedAt + timeWindow - now })
  }

  /** One store for every limited route: routes with the same groupId share a budget. */
  child(): FastifyRateLimitStore {
    return this
  }

  #evict(): void {
    for (const key of this.#windows.keys()) {
      if (this.#windows.size <= maxClients * 0.9) return
      this.#windows.delete(key)
    }
  }
}
