import { Piscina } from 'piscina'
import type { PasswordContext } from './password-strength.ts'

/**
 * One worker thread for zxcvbn (password-strength.ts), started on the first check and ended
 * after a minute without one, so that its dictionaries (47 to 59 MiB, 27 MiB of heap) are held
 * only while staff set passwords, outside the service's heap limit (--max-old-space-size), and
 * a check's up to 40 ms of CPU never stalls the event loop that answers shoppers. Idle, the
 * thread is unref'd (piscina), so `staff add` exits when done.
 */
let pool: Piscina | undefined

/** How long the thread outlives its last check, in ms. */
const idleTimeoutMs = 60_000

/**
 * Why zxcvbn finds `password` too easy to guess (a clause: `it is a keyboard pattern`), or
 * undefined when it does not; `context` names the account's e-mail and the shop's words, which
 * it must not be built on (guessableBecause).
 * The first call in a while waits for the thread to load the dictionaries (about 1 s). Rejects
 * only if the thread cannot start or dies (then the next call starts another).
 */
export function guessableInWorker(
  password: string,
  context: PasswordContext,
): Promise<string | undefined> {
  pool ??= new Piscina({
    filename: new URL('./password-strength.ts', import.meta.url).href,
    minThreads: 0,
    maxThreads: 1,
    idleTimeout: idleTimeoutMs,
  })
  return pool.run({ password, email: context.email, shop: context.shop })
}
