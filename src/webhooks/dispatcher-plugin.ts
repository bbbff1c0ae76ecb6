import fp from 'fastify-plugin'
import type { Config } from '../config.ts'
import { outageLog } from '../plugins/outage-log.ts'
import { sendsGraceMs, stopTogether } from '../plugins/stop-together.ts'
import { type UrlCheck, webhookId } from './deliver.ts'
import {
  type Dispatcher,
  type DispatcherOptions,
  type DispatcherStats,
  startDispatcher,
} from './dispatcher.ts'
import { registerWebhookMetrics } from './metrics.ts'
import { checkWebhookUrl } from './url-policy.ts'

declare module 'fastify' {
  interface FastifyInstance {
    /** This instance's webhook dispatcher: its counts (zeros while off), and a poke to run now. */
    webhookDispatcher: { readonly stats: Readonly<DispatcherStats>; poke(): void }
  }
}

/** What a test (or buildApp's caller) may change about the dispatcher; the rest is config. */
export type DispatcherTuning = Partial<
  Pick<
    DispatcherOptions,
    'pollMs' | 'concurrency' | 'fanOutBatch' | 'timeoutMs' | 'leaseMs' | 'stopGraceMs' | 'retry'
  >
> & {
  /** A URL policy in place of checkWebhookUrl with WEBHOOKS_ALLOW_LOCAL. */
  check?: UrlCheck
}

export interface WebhookDispatcherOptions {
  config: Config
  /** false: no dispatcher in this app (WEBHOOKS_DISPATCH=off does the same); or tuning. */
  dispatcher?: boolean | DispatcherTuning
}

/**
 * The background webhook dispatcher of this instance (dispatcher.ts), started when the app is
 * ready and stopped before the pool closes, side by side with the mail sender (stop-together.ts:
 * sends in flight get half of SHUTDOWN_TIMEOUT_MS, at most 5 s, then their leases are handed
 * back), and the webhooks' metrics. Every instance runs one unless
 * WEBHOOKS_DISPATCH=off; they share the work through the database.
 */
export default fp(
  async (app, { config, dispatcher = true }: WebhookDispatcherOptions) => {
    const idle: DispatcherStats = {
      delivered: 0,
      retried: 0,
      failed: 0,
      fannedOut: 0,
      inFlight: 0,
      pollFailures: 0,
    }
    let running: Dispatcher | undefined
    app.decorate('webhookDispatcher', {
      getter: () => ({ stats: running?.stats ?? idle, poke: () => running?.poke() }),
    })
    registerWebhookMetrics(app.metrics.registry, app.db, () => running?.stats ?? idle)
    if (dispatcher === false || config.WEBHOOKS_DISPATCH === 'off') return
    const { check, ...tuning } = dispatcher === true ? {} : dispatcher
    const allowLocal = config.WEBHOOKS_ALLOW_LOCAL === 'true'
    app.addHook('onReady', async () => {
      const outage = outageLog(app.log, 'webhook dispatch')
      running = startDispatcher(app.db, {
        ...tuning,
        pollMs: tuning.pollMs ?? config.WEBHOOKS_POLL_MS,
        // Within the shutdown's time limit, leaving time to hand the leases back and close.
        stopGraceMs: tuning.stopGraceMs ?? sendsGraceMs(config),
        // The fan-out queues the shopper e-mails when mail is on (src/mail sends them).
        emails: Boolean(config.SMTP_URL),
        check: check ?? ((url, options) => checkWebhookUrl(url, options)),
        allowLocal,
        onError: outage.failed,
        onSuccess: outage.succeeded,
        // Never the secret, the body or the URL's query (it may carry a token): the ids say
        // which delivery, the endpoint page says where.
        onAttempt: (delivery, result, { recorded, endpointDisabled }) => {
          if (result.ok) return
          const fields = {
            deliveryId: delivery.id,
            endpointId: delivery.endpointId,
            eventId: delivery.eventId,
            webhookId: webhookId(delivery.event.publicId),
            attempt: delivery.attempts,
            status: result.status,
            error: result.error,
          }
          if (recorded === 'failed') app.log.warn(fields, 'webhook delivery given up')
          else app.log.info(fields, 'webhook delivery attempt failed; will retry')
          if (endpointDisabled) {
            app.log.warn(
              { endpointId: delivery.endpointId },
              'webhook endpoint disabled: failing for too long',
            )
          }
        },
      })
    })
    stopTogether(app, async () => running?.stop())
  },
  { name: 'webhook-dispatcher', dependencies: ['db', 'metrics'] },
)
