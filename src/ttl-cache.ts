/**
 * Memoizes an async read per key for `ttlMs`. Concurrent misses share one call, and a failed
 * call is forgotten at once so the next request tries again. Instances stay stateless: this only
 * saves round trips for data that may be a moment old.
 */
export function ttlCache<K, V>(
  read: (key: K) => Promise<V>,
  ttlMs: number,
): (key: K) => Promise<V> {
  const entries = new Map<K, { until: number; value: Promise<V> }>()
  return (key) => {
    const now = Date.now()
    const hit = entries.get(key)
    if (hit && hit.until > now) return hit.value
    const value = read(key)
    entries.set(key, { until: now + ttlMs, value })
    value.catch(() => entries.delete(key))
    return value
  }
}
