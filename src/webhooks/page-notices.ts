/**
 * The sentences the endpoint's page (admin-pages.ts) shows after one of its forms, read from the
 * query its 303 leads to (`?registered=1`, `?rotated=1`, …).
 */
import type { Redelivered } from './deliveries.ts'
import type { Endpoint, WebhookPageQuery } from './schemas.ts'

/** `2026-01-31 14:05 UTC`: backOfficeTime's text, for a notice (printed escaped, no markup). */
const plainTime = (iso: string) => `${iso.slice(0, 10)} ${iso.slice(11, 16)} UTC`

/** After a rotation: until when the replaced secret signs too, when it does (secret-rotation.ts). */
const rotatedNotice = (previousUntil: string | null) =>
  previousUntil
    ? `New secret made: deliveries from now on are signed with it, and with the previous one too until ${plainTime(previousUntil)}: install it at the receiver before then.`
    : 'New secret made: deliveries from now on are signed with it only.'
const shownOnce = 'was shown once and is not shown again'

/**
 * What the endpoint's page says after a form (its query, after the 303); `secretShown`: the new
 * secret is on this page, else its one showing is past (a reload, say) and the page says so;
 * `redelivered`: the delivery `?redelivered=` names and its status, when it is this endpoint's
 * and was redelivered (deliveries.ts redeliveredStatus), else undefined and no notice. Like the
 * rest of the back office's `?done=` notices these are read from the URL, so a link can show
 * one; none names a thing that is not there.
 */
export function noticeOf(
  query: WebhookPageQuery,
  secretShown: boolean,
  endpoint: Endpoint,
  redelivered: Redelivered | undefined,
): string | undefined {
  if (query.registered !== undefined) {
    return secretShown
      ? 'Endpoint registered.'
      : `Endpoint registered. Its signing secret ${shownOnce}; if it was not stored, rotate the secret to make another.`
  }
  if (query.rotated !== undefined) {
    const notice = rotatedNotice(endpoint.previousSecretUntil)
    return secretShown
      ? notice
      : `${notice} It ${shownOnce}; if it was not stored, rotate it again.`
  }
  if (query.overlapEnded !== undefined) {
    return 'The previous secret is no longer used: deliveries are signed with the current one only.'
  }
  if (query.updated !== undefined) return 'Changes saved.'
  if (redelivered !== undefined) {
    // Sent since (a reload later): its row below has the outcome.
    return redelivered.status === 'pending'
      ? `Delivery ${redelivered.id} will be sent again.`
      : `Delivery ${redelivered.id} was sent again: its result is below.`
  }
  return undefined
}
