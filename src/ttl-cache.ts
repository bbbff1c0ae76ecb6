/**
 * Memoizes an async read per key for `ttlMs`. Concurrent misses share one call, and a failed
 * call is forgotten at once so the next request tries again. Instances stay stateless: this only
 * saves round trips for data that may be a moment old.
 *
 * Refreshed ahead: a value asked for in the second half of its life is answered at once and read
 * again in the background, and the new read replaces it when it lands. Under steady traffic no
 * request waits for the read any more (before, the first request after each expiry did: for the
 * top three, 24 confirmations a second on one worker, each a database round trip longer; issue
 * 19, docs/benchmarks.md "The flow's tail"). A value is still never answered more than `ttlMs`
 * after its read began; past that, a request waits for the read in flight or starts one.
 */
export function ttlCache<K, V>(
  read: (key: K) => Promise<V>,
  ttlMs: number,
): (key: K) => Promise<V> {
  interface Entry {
    /** When its read began (ms since the epoch): its age counts from there. */
    at: number
    value: Promise<V>
    /** The background read started for it, if any. */
    next?: Entry
  }
  const entries = new Map<K, Entry>()
  const start = (key: K, now: number): Entry => {
    const entry: Entry = { at: now, value: read(key) }
    entry.value.catch(() => {
      if (entries.get(key) === entry) entries.delete(key)
    })
    return entry
  }
  return (key) => {
    const now = Date.now()
    const hit = entries.get(key)
    if (hit && now - hit.at < ttlMs) {
      if (!hit.next && now - hit.at >= ttlMs / 2) {
        const next = start(key, now)
        hit.next = next
        next.value.then(
          () => entries.get(key) === hit && entries.set(key, next),
          // Failed: the current value stays for the rest of its life; a later request retries.
          () => hit.next === next && delete hit.next,
        )
      }
      return hit.value
    }
    // Expired: the background read, if one is in flight, is as fresh as a new one.
    const entry = hit?.next ?? start(key, now)
    entries.set(key, entry)
    return entry.value
  }
}
