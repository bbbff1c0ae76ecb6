import type { FastifyInstance } from 'fastify'
import type { Config } from '../config.ts'

/**
 * How long the background sends in flight (webhooks, e-mails) may go on once the app closes:
 * half of SHUTDOWN_TIMEOUT_MS, at most 5 s. Then they are abandoned and their leases handed
 * back; the other half is for that, the requests still in flight and closing the pool (the
 * embedded database writes its last pages then: killed instead, its sequences jump by 32).
 */
export function sendsGraceMs({ SHUTDOWN_TIMEOUT_MS }: Pick<Config, 'SHUTDOWN_TIMEOUT_MS'>) {
  return Math.min(5000, Math.floor(SHUTDOWN_TIMEOUT_MS / 2))
}

const stops = new WeakMap<object, (() => Promise<unknown>)[]>()

/**
 * Runs `stop` when `app` closes, before its pool does, at the same moment as every other stop
 * given here for the same instance, and waits for them all together: the webhook dispatcher
 * and the mail sender each wait up to sendsGraceMs for their sends in flight, side by side, so
 * a shutdown waits for the longer one, not for the sum. (As two preClose hooks they ran one
 * after the other, and with both stalled took the whole SHUTDOWN_TIMEOUT_MS: exit 1, the
 * e-mail's lease never handed back.)
 */
export function stopTogether(app: FastifyInstance, stop: () => Promise<unknown>): void {
  const known = stops.get(app)
  if (known) {
    known.push(stop)
    return
  }
  const all = [stop]
  stops.set(app, all)
  app.addHook('preClose', async () => {
    const results = await Promise.allSettled(all.map((s) => s()))
    for (const r of results) if (r.status === 'rejected') throw r.reason
  })
}
