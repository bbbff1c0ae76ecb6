/**
 * SQLSTATEs after which the same statement may simply be run again: the transaction was rolled
 * back whole, nothing it did is kept (PostgreSQL docs, "Serialization Failure Handling":
 * 40001 serialization_failure, 40P01 deadlock_detected).
 */
const retryable = new Set(['40001', '40P01'])

/** True for an error whose statement was rolled back whole and can run again as it was. */
export function isRetryable(err: unknown): boolean {
  return retryable.has((err as { code?: unknown } | null)?.code as string)
}

/**
 * Runs `statement`, and again (up to `attempts` times in all) while it fails with a deadlock or
 * a serialization failure, after a short random pause (0 to 10 ms × attempt) so that the two
 * sides of a cycle do not meet again at once. Safe only for statements that are all or nothing
 * and idempotent as a whole (an order is: its idempotency key); any other error, or the last
 * retryable one, is thrown as it came.
 */
export async function retryTransient<T>(statement: () => Promise<T>, attempts = 3): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await statement()
    } catch (err) {
      if (attempt >= attempts || !isRetryable(err)) throw err
      await new Promise((resolve) => setTimeout(resolve, Math.random() * 10 * attempt))
    }
  }
}
