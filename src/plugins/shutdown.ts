import net from 'node:net'
import { setImmediate, setTimeout as sleep } from 'node:timers/promises'
import fp from 'fastify-plugin'

/** What a request gets while the process shuts down: 503 with Retry-After (errors.ts answers it). */
export const shuttingDown = Object.assign(
  new Error('The service is restarting. Please try again in a few seconds.'),
  { code: 'SHUTTING_DOWN', statusCode: 503 },
)

/** The end of the drain during which answers are held back (all of a drain shorter than this). */
const HOLD_MS = 100

export interface ShutdownOptions {
  /** SHUTDOWN_DRAIN_MS: how long the port stays open once closing began. */
  drainMs: number
  /**
   * Resolves once the port is closed everywhere it is shared: under node:cluster it closes when
   * the last worker closes it (server.ts asks the primary). Alone: as soon as this process has.
   */
  portClosed?: () => Promise<void>
}

/**
 * Closing without resetting what clients already sent (docs/operations.md, "Shutdown").
 * app.close() marks the app closing and runs the preClose hooks before it closes the port: from
 * this hook on, every request is answered 503 with Retry-After (and `Connection: close`, which
 * Fastify adds while closing), /readyz too. The port stays open `drainMs` first: connections a
 * client has made but the process has not accepted yet wait in the kernel's queue, which resets
 * them when the port closes (measured: up to 14 of 16 clients looping on fresh connections, their
 * requests written up to 400 ms before). In the drain's last HOLD_MS the 503s are held back, so a
 * client that retries at once is not back in that queue when the port closes; then the port
 * closes and the held requests get their 503. `drainMs` 0, or an app not listening (tests'
 * inject): closed at once, as before.
 */
export default fp<ShutdownOptions>(
  async (app, { drainMs, portClosed }) => {
    let closing = false
    let held: Promise<void> | undefined
    app.addHook('preClose', async () => {
      closing = true
      if (drainMs === 0 || !app.server.listening) return
      app.log.info({ drainMs }, 'draining: answering 503 until the port closes')
      const holdMs = Math.min(HOLD_MS, drainMs)
      await sleep(drainMs - holdMs)
      const release = Promise.withResolvers<void>()
      held = release.promise
      try {
        await sleep(holdMs)
        // Right after the event loop's I/O phase, which has just accepted what waited in the
        // kernel's queue, stop accepting, and only that: net.Server's close, not http.Server's,
        // which also destroys connections "idle" for want of a request read, as those just
        // accepted are. One I/O phase more reads them; then Fastify's own server.close() (after
        // this hook) closes what is really idle and waits, as always, for the requests in flight.
        await setImmediate()
        net.Server.prototype.close.call(app.server)
        await portClosed?.()
        await setImmediate()
      } finally {
        release.resolve()
      }
    })
    app.addHook('onRequest', (_request, reply, done) => {
      if (!closing) return done()
      reply.header('retry-after', '5')
      if (held) void held.then(() => done(shuttingDown))
      else done(shuttingDown)
    })
  },
  { name: 'shutdown' },
)
