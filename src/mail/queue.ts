import { type Kysely, sql } from 'kysely'
import { PLAN_EACH_RUN } from '../db/connect.ts'
import type { Database } from '../db/schema.ts'
import type { OrderPlacedData, OrderStatusChangedData } from '../outbox/events.ts'
import { backoffMs } from '../webhooks/backoff.ts'
import { type EmailKind, renderedKinds } from './render.ts'

/** An e-mail taken by claimDueEmails, with the order it is about. */
export interface ClaimedEmail {
  id: string
  /** outbox.id of its event. */
  eventId: string
  kind: EmailKind
  to: string
  /** This attempt's number (1 for the first). */
  attempts: number
  /** The event's payload: the order as the API showed it then. */
  order: OrderPlacedData | OrderStatusChangedData
}

/**
 * Takes up to `limit` due e-mails and leases them in ONE statement (attempts + 1,
 * `next_attempt_at` = now + `leaseMs`), then commits: the sends happen outside any transaction.
 * Due: pending, `next_attempt_at` reached, and nothing earlier of the same order still on its
 * way (no pending e-mail of an earlier event of that order, and no earlier event of it still
 * waiting to be fanned out): a shopper never gets "shipped" before "placed". `FOR UPDATE SKIP
 * LOCKED` gives each instance its own rows; the lease keeps them while they are sent, and when
 * a process dies mid-send it runs out and the e-mail is taken again. `leaseMs` must exceed the
 * send timeout. Only kinds this release renders (renderedKinds) are taken: a later release's
 * new kind waits for an instance of that release rather than go out as another kind (releases
 * overlap: the staging slot, a rollback; docs/events.md, "E-mails"). Such a row still holds back
 * its order's later e-mails.
 */
export async function claimDueEmails(
  db: Kysely<Database>,
  limit: number,
  leaseMs: number,
): Promise<ClaimedEmail[]> {
  const { rows } = await sql<{
    id: string
    event_id: string
    kind: EmailKind
    to_address: string
    attempts: number
    payload: unknown
  }>`${sql.raw(PLAN_EACH_RUN)}
    with due as materialized (
      select m.id from order_emails m
      where m.status = 'pending' and m.next_attempt_at <= now()
        and m.kind in (${sql.join(renderedKinds.map((k) => sql.lit(k)))})
        and not exists (
          select from order_emails p
          where p.order_id = m.order_id and p.status = 'pending' and p.event_id < m.event_id
        )
        and not exists (
          select from outbox o
          where o.order_id = m.order_id and o.id < m.event_id and o.fanned_out_at is null
        )
      order by m.next_attempt_at
      limit ${limit}
      for update of m skip locked
    ), taken as (
      update order_emails m
      set attempts = m.attempts + 1,
          next_attempt_at = now() + make_interval(secs => ${leaseMs / 1000})
      from due where m.id = due.id
      returning m.id, m.event_id, m.kind, m.to_address, m.attempts
    )
    select t.id::text as id, t.event_id::text as event_id, t.kind, t.to_address, t.attempts,
           o.payload
    from taken t join outbox o on o.id = t.event_id
    order by t.event_id
  `.execute(db)
  return rows.map((r) => ({
    id: r.id,
    eventId: r.event_id,
    kind: r.kind,
    to: r.to_address,
    attempts: r.attempts,
    order: (typeof r.payload === 'string'
      ? JSON.parse(r.payload)
      : r.payload) as ClaimedEmail['order'],
  }))
}

/** How long failed sends are retried. Milliseconds. */
export interface MailRetryPolicy {
  /** First retry's ceiling (full jitter below it), doubled each failure: 5 s. */
  baseMs: number
  /** Largest wait between attempts: 1 h. */
  capMs: number
  /** Retries stop this long after the e-mail was queued (its event fanned out): 24 h. */
  windowMs: number
}

export const defaultMailRetryPolicy: MailRetryPolicy = {
  baseMs: 5000,
  capMs: 3_600_000,
  windowMs: 24 * 3_600_000,
}

/** What recording an attempt did. `stale`: the lease had passed to another attempt. */
export type MailRecorded = 'sent' | 'retry' | 'failed' | 'stale'

/**
 * Writes an attempt's outcome if the row is still under this attempt's lease (same `attempts`,
 * still pending). Sent: `sent`, `sent_at`. Failed: the next try after a full-jitter backoff
 * (src/webhooks/backoff.ts), or `failed` once the retry window since the row was made has
 * passed, or at once when `permanent` (the server refused the recipient for good: a 5xx to
 * RCPT TO, src/mail/sender.ts recipientRefused).
 */
export async function recordEmailAttempt(
  db: Kysely<Database>,
  email: Pick<ClaimedEmail, 'id' | 'attempts'>,
  outcome: { ok: true } | { ok: false; error: string; permanent: boolean },
  policy: MailRetryPolicy,
  random: () => number = Math.random,
): Promise<MailRecorded> {
  if (outcome.ok) {
    const { rows } = await sql`
      update order_emails set status = 'sent', sent_at = now(), last_error = null
      where id = ${email.id} and attempts = ${email.attempts} and status = 'pending'
      returning id
    `.execute(db)
    return rows.length > 0 ? 'sent' : 'stale'
  }
  const waitSeconds = backoffMs(email.attempts, policy, random) / 1000
  const { rows } = await sql<{ status: string }>`
    update order_emails
    set status = case when ${outcome.permanent}
                        or now() >= created_at + make_interval(secs => ${policy.windowMs / 1000})
                      then 'failed' else 'pending' end,
        next_attempt_at = now() + make_interval(secs => ${waitSeconds}),
        last_error = ${outcome.error}
    where id = ${email.id} and attempts = ${email.attempts} and status = 'pending'
    returning status
  `.execute(db)
  const row = rows[0]
  if (!row) return 'stale'
  return row.status === 'failed' ? 'failed' : 'retry'
}

/**
 * Hands a leased e-mail back at once (the sender stopped mid-send): due now, for any instance;
 * the attempt still counts. Returns whether the lease was still ours.
 */
export async function releaseEmailLease(
  db: Kysely<Database>,
  email: Pick<ClaimedEmail, 'id' | 'attempts'>,
): Promise<boolean> {
  const { rows } = await sql`
    update order_emails
    set next_attempt_at = now(), last_error = 'abandoned: the mail sender stopped'
    where id = ${email.id} and attempts = ${email.attempts} and status = 'pending'
    returning id
  `.execute(db)
  return rows.length > 0
}

/** The most days back `requeueFailedEmails` reaches (and `npm run mail` accepts): 30. */
export const maxRequeueDays = 30

/**
 * Queues again the `failed` e-mails of orders placed less than `days` days ago (1 to
 * maxRequeueDays): after a setting is fixed (MAIL_FROM on a domain the SMTP server lets the shop
 * send from, a password), the e-mails it made fail are sent after all. Each is due at once, and
 * its 24 hours of retries start again: `created_at` is set to now (it is when the e-mail was
 * last queued); `attempts` keeps counting and `last_error` stays until the next attempt. Older
 * orders are left alone: a shopper gets no confirmation weeks late. An e-mail whose recipient was
 * refused for good is tried once more and, refused again, is failed again. Returns how many.
 */
export async function requeueFailedEmails(db: Kysely<Database>, days: number): Promise<number> {
  if (!Number.isInteger(days) || days < 1 || days > maxRequeueDays) {
    throw new RangeError(`days must be a whole number from 1 to ${maxRequeueDays}`)
  }
  const { rows } = await sql`
    update order_emails m
    set status = 'pending', next_attempt_at = now(), created_at = now()
    from orders o
    where o.id = m.order_id and m.status = 'failed'
      and o.created_at > now() - make_interval(days => ${days})
    returning m.id
  `.execute(db)
  return rows.length
}
