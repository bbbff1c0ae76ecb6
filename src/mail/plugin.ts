import fp from 'fastify-plugin'
import type { Config } from '../config.ts'
import { outageLog } from '../plugins/outage-log.ts'
import { sendsGraceMs, stopTogether } from '../plugins/stop-together.ts'
import { registerMailMetrics } from './metrics.ts'
import {
  type MailSender,
  type MailSenderOptions,
  type MailSenderStats,
  startMailSender,
} from './sender.ts'
import { mailSettings } from './settings.ts'
import { checkSmtpServer } from './transport.ts'

// At most this many stuck e-mails remembered (an id is ~20 bytes): past it, the oldest goes,
// and at worst warns once more when refused again.
const maxRemembered = 10_000

/** Adds `id` to `ids`, dropping the oldest past maxRemembered. */
function remember(ids: Set<string>, id: string): void {
  ids.add(id)
  if (ids.size > maxRemembered) ids.delete(ids.values().next().value as string)
}

/** What a test (or buildApp's caller) may change about the mail sender; the rest is config. */
export type MailerTuning = Partial<
  Pick<
    MailSenderOptions,
    'pollMs' | 'batch' | 'sendTimeoutMs' | 'leaseMs' | 'stopGraceMs' | 'retry'
  >
>

export interface MailerOptions {
  config: Config
  /** false: no mail sender in this app; or tuning. */
  mailer?: boolean | MailerTuning
}

/**
 * The order e-mails' sender of this instance (sender.ts), started when the app is ready and
 * stopped before the pool closes, side by side with the webhook dispatcher (stop-together.ts:
 * sends in flight get the same grace as the dispatcher's, then their leases are handed back),
 * and its metrics (with SMTP_URL set). The e-mails themselves are queued by the webhook dispatcher's
 * fan-out (src/webhooks/fan-out.ts) when SMTP_URL is set; this plugin only sends them. It runs
 * when SMTP_URL is set and the instance dispatches (WEBHOOKS_DISPATCH is not off: that setting
 * turns off all of this instance's background delivery, webhooks and e-mails). Says once at
 * start which of these holds; never logs the SMTP URL's credentials or an address. Where it
 * sends, it checks the SMTP server at start without waiting for it (connect, STARTTLS,
 * certificate, login: checkSmtpServer) and warns in one line naming host:port and the reason
 * when that fails, as it does at the first failed send of an outage (docs/events.md, "Off").
 */
export default fp(
  async (app, { config, mailer = true }: MailerOptions) => {
    const settings = mailSettings(config)
    if (!settings) {
      app.log.info('e-mails off: SMTP_URL is not set, so no order e-mail is queued or sent')
      return
    }
    const idle: MailSenderStats = { sent: 0, retried: 0, failed: 0, pollFailures: 0 }
    let running: MailSender | undefined
    registerMailMetrics(app.metrics.registry, app.db, () => running?.stats ?? idle)
    if (mailer === false) return
    if (config.WEBHOOKS_DISPATCH === 'off') {
      app.log.info(
        { smtpServer: settings.server },
        'e-mails on, but this instance sends none (WEBHOOKS_DISPATCH=off): instances that dispatch send them',
      )
      return
    }
    app.log.info(
      { smtpServer: settings.server, from: settings.from },
      'e-mails on: order confirmations, shipping and cancellation notices are sent through the SMTP server',
    )
    const tuning = mailer === true ? {} : mailer
    const smtpServer = settings.server
    // One warn per outage of the setting or the server, not one per attempt (a backlog retried
    // for 24 hours would flood the log): the first failure that is not about one recipient, or a
    // failed check at start, says why at warn; later ones log at info until an e-mail is sent
    // again, which says so at info. An e-mail whose recipient was refused before (at RCPT TO,
    // retried: `550 5.7.1 Unable to relay` for one address) is not news when refused again: other
    // e-mails go out between its retries, and each retry warned as a new outage (3 warnings and
    // 3 "sent again" in 6 minutes for one stuck address). Its ids, until sent or given up.
    const refusedBefore = new Set<string>()
    let failing = false
    let closing = false
    const smtpFailing = (reason: string, at: 'check' | 'send') => {
      if (failing || closing) return
      failing = true
      const what = at === 'check' ? 'e-mails will fail' : 'e-mails are failing'
      app.log.warn(
        { smtpServer },
        `${what}: the SMTP server at ${smtpServer} ${reason}; they are kept and retried for 24 hours (npm run mail -- requeue-failed after that)`,
      )
    }
    app.addHook('onReady', async () => {
      const outage = outageLog(app.log, 'e-mail sending')
      running = startMailSender(app.db, settings, {
        ...tuning,
        pollMs: tuning.pollMs ?? config.WEBHOOKS_POLL_MS,
        stopGraceMs: tuning.stopGraceMs ?? sendsGraceMs(config),
        onError: outage.failed,
        onSuccess: outage.succeeded,
        onAttempt: (email, failure, recorded) => {
          if (failure === null) {
            refusedBefore.delete(email.id)
            if (failing) app.log.info({ smtpServer }, 'e-mails are sent again')
            failing = false
            return
          }
          const news = !(failure.atRecipient && refusedBefore.has(email.id))
          if (!failure.permanent && news) smtpFailing(failure.reason, 'send')
          if (failure.atRecipient && recorded !== 'failed') remember(refusedBefore, email.id)
          else refusedBefore.delete(email.id)
          const fields = {
            emailId: email.id,
            eventId: email.eventId,
            kind: email.kind,
            orderNumber: email.order.orderNumber,
            attempt: email.attempts,
            error: failure.error,
          }
          if (recorded === 'failed') app.log.warn(fields, 'order e-mail given up')
          else app.log.info(fields, 'order e-mail attempt failed; will retry')
        },
      })
      // Not awaited: a server that hangs must not hold the start (nor the close) up.
      void checkSmtpServer(settings).then((reason) => reason && smtpFailing(reason, 'check'))
    })
    stopTogether(app, async () => {
      closing = true
      await running?.stop()
    })
  },
  { name: 'mailer', dependencies: ['db', 'metrics'] },
)
