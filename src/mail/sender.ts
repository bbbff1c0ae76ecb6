import type { Kysely } from 'kysely'
import type { Database } from '../db/schema.ts'
import { startPollLoop } from '../plugins/poll-loop.ts'
import {
  type ClaimedEmail,
  claimDueEmails,
  defaultMailRetryPolicy,
  type MailRecorded,
  type MailRetryPolicy,
  recordEmailAttempt,
  releaseEmailLease,
} from './queue.ts'
import { renderOrderEmail } from './render.ts'
import type { MailSettings } from './settings.ts'
import {
  enhancedStatusSubject,
  failureReason,
  redactAddresses,
  smtpTransport,
} from './transport.ts'

/** What this process's mail sender has done since it started (several instances: its share). */
export interface MailSenderStats {
  sent: number
  /** Failed attempts that will be tried again. */
  retried: number
  /** E-mails given up (24 h of failures, or the recipient refused for good). */
  failed: number
  /** Polls that failed (the database did not answer; retried at the next poll). */
  pollFailures: number
}

export interface MailSenderOptions {
  /** Pause between polls when there was nothing (more) to do. */
  pollMs: number
  /** E-mails taken (and sent at once, one SMTP connection each) per claim: 8. */
  batch?: number
  /** One send must finish within this: 30 s. */
  sendTimeoutMs?: number
  /** How long a taken e-mail is reserved for its send: 2 min (more than sendTimeoutMs). */
  leaseMs?: number
  /**
   * On stop, how long sends in flight may finish before they are abandoned: 5 s (the plugin
   * gives sendsGraceMs, the same for both, src/plugins/stop-together.ts).
   */
  stopGraceMs?: number
  retry?: Partial<MailRetryPolicy>
  /**
   * A poll (or recording an outcome) failed. Polls failing in a row are retried later and
   * later, up to every 5 s (retryDelayMs in src/plugins/outage-log.ts).
   */
  onError: (err: unknown) => void
  /** A poll succeeded (the plugin ends an outage it logged). */
  onSuccess?: () => void
  /**
   * Each attempt's outcome (the plugin logs failures; never the address or the SMTP URL): null
   * when sent, else the error as stored, its failureReason (transport.ts) and whether it was
   * about this e-mail alone (recipientRefused).
   */
  onAttempt?: (email: ClaimedEmail, failure: SendFailure | null, recorded: MailRecorded) => void
}

/**
 * A failed attempt: `error` as stored (last_error), `reason` for the log, `permanent`
 * (recipientRefused), and `atRecipient`: the server took the session and the sender and refused
 * this e-mail's recipient at `RCPT TO` (any reply, retried or not), so other e-mails may go out.
 */
export interface SendFailure {
  error: string
  reason: string
  permanent: boolean
  atRecipient: boolean
}

export interface MailSender {
  readonly stats: Readonly<MailSenderStats>
  /** Wakes the loop now. */
  poke(): void
  /** Stops polling; sends in flight get stopGraceMs, then are abandoned (leases handed back). */
  stop(): Promise<void>
}

/**
 * The Message-ID of an e-mail, from its event: the same on every attempt, so a message sent
 * again after a crash (sent, then the process died before recording it) is recognisably the
 * same one, and mail clients and servers that drop duplicates by Message-ID do so.
 */
export function messageId(email: Pick<ClaimedEmail, 'eventId' | 'kind' | 'order'>, domain: string) {
  return `<order-${email.order.orderNumber}.${email.kind}.${email.eventId}@${domain}>`
}

/**
 * Whether a failed send is about this e-mail alone: the server refused its recipient for good (a
 * 5xx to `RCPT TO`; nodemailer's `code` EENVELOPE, `command` 'RCPT TO', `responseCode`, and the
 * reply in `response`). A reply with an enhanced status code (RFC 3463, e.g. `550 5.1.1`) counts
 * only when its subject is the address (X.1.y) or the mailbox (X.2.y): `550 5.7.1 Unable to
 * relay` is the relay refusing the shop's login or sender (a submission server does not ask the
 * recipient's own server at RCPT TO), so every e-mail would fail the same way until the setting
 * is fixed. Every other failure is the shop's setting or the server's state, and is retried: a
 * 5xx to `MAIL FROM` (Azure Communication Services answers `550 5.7.1 Sender not authorized` for
 * a sender domain it has not verified), a refused login (EAUTH), no STARTTLS or a bad
 * certificate (ETLS), the message refused after DATA (EMESSAGE), a server down or hanging.
 */
export function recipientRefused(err: unknown): boolean {
  const e = err as { code?: unknown; command?: unknown; responseCode?: unknown; response?: unknown }
  if (
    e.code !== 'EENVELOPE' ||
    e.command !== 'RCPT TO' ||
    typeof e.responseCode !== 'number' ||
    e.responseCode < 500
  ) {
    return false
  }
  const subject = enhancedStatusSubject(e.response)
  return subject === undefined || subject === 1 || subject === 2
}

/**
 * The mail sender of one instance: takes due e-mails (claimDueEmails), renders each from its
 * event's order and sends it through the SMTP server of `settings`, records the outcome, and polls again: at once while claims come back full,
 * else after `pollMs`. A failure is retried after a backoff for 24 hours, then the e-mail is
 * failed; a recipient the server refuses for good (recipientRefused) is failed at once.
 */
export function startMailSender(
  db: Kysely<Database>,
  settings: MailSettings,
  options: MailSenderOptions,
): MailSender {
  const {
    pollMs,
    batch = 8,
    sendTimeoutMs = 30_000,
    leaseMs = 120_000,
    stopGraceMs = 5000,
    onError,
    onSuccess = () => {},
    onAttempt = () => {},
  } = options
  const policy: MailRetryPolicy = { ...defaultMailRetryPolicy, ...options.retry }
  const stats: MailSenderStats = { sent: 0, retried: 0, failed: 0, pollFailures: 0 }
  const transport = smtpTransport(settings, sendTimeoutMs)
  const abandon = new AbortController()

  const send = async (email: ClaimedEmail) => {
    const { subject, text, html } = renderOrderEmail(email.kind, email.order, settings.baseUrl)
    let failure: SendFailure | null = null
    try {
      await transport.sendMail({
        from: settings.from,
        to: email.to,
        subject,
        text,
        html,
        messageId: messageId(email, settings.messageIdDomain),
        signal: AbortSignal.any([abandon.signal, AbortSignal.timeout(sendTimeoutMs)]),
      })
    } catch (err) {
      failure = {
        error: redactAddresses(String((err as { message?: string }).message ?? err)).slice(0, 500),
        reason: failureReason(err),
        permanent: recipientRefused(err),
        atRecipient:
          (err as { code?: unknown }).code === 'EENVELOPE' &&
          (err as { command?: unknown }).command === 'RCPT TO',
      }
    }
    if (failure !== null && abandon.signal.aborted) {
      await releaseEmailLease(db, email)
      return
    }
    const outcome = failure === null ? { ok: true as const } : { ok: false as const, ...failure }
    const recorded = await recordEmailAttempt(db, email, outcome, policy)
    if (recorded === 'sent') stats.sent++
    else if (recorded === 'retry') stats.retried++
    else if (recorded === 'failed') stats.failed++
    onAttempt(email, failure, recorded)
  }

  const loop = startPollLoop({
    pollMs,
    async pass(more) {
      const due = await claimDueEmails(db, batch, leaseMs)
      if (due.length === batch) more()
      await Promise.allSettled(due.map((email) => send(email).catch(onError)))
    },
    counts: stats,
    onError,
    onSuccess,
  })

  return {
    stats,
    poke: loop.poke,
    async stop() {
      const grace = setTimeout(() => abandon.abort(), stopGraceMs)
      await loop.stop()
      clearTimeout(grace)
      transport.close()
    },
  }
}
