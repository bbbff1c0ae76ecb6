/**
 * When a failed delivery is tried again: exponential backoff with full jitter (AWS Architecture
 * Blog, "Exponential Backoff And Jitter"). The n-th failed attempt (n >= 1) waits a uniformly
 * random time in [0, min(capMs, baseMs * 2^(n-1))): retries spread out instead of hitting a
 * receiver that has just come back all at once, and the ceiling doubles until it reaches the cap.
 *
 * `random` returns [0, 1) (Math.random by default; tests pass their own). Milliseconds in and out.
 */
export function backoffMs(
  attempt: number,
  { baseMs, capMs }: { baseMs: number; capMs: number },
  random: () => number = Math.random,
): number {
  // 2^40 * 5 s is far past any cap; stop the exponent there so it never reaches Infinity.
  const ceiling = Math.min(capMs, baseMs * 2 ** Math.min(Math.max(attempt - 1, 0), 40))
  return Math.floor(random() * ceiling)
}
