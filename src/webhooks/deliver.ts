/**
 * One delivery attempt: the Standard Webhooks envelope and signature of an outbox event, the URL
 * check just before the send, and the POST itself (node:http to the checked addresses only:
 * agents.ts) with its one outcome. The dispatcher's send queue (send-queue.ts) calls
 * attemptDelivery; nothing here touches the database.
 */
import { createHmac, createSecretKey, type KeyObject } from 'node:crypto'
import http from 'node:http'
import https from 'node:https'
import { Webhook } from 'standardwebhooks'
import type { Addresses, Agents } from './agents.ts'
import { retryAfterMs, retryAfterStatuses } from './retry-after.ts'

/** What a delivery sends: one outbox event. */
export interface OutgoingEvent {
  /** outbox.public_id: a random UUID, the event's id outside its database. */
  publicId: string
  /** `order.placed`, …, `product.out_of_stock`. */
  type: string
  createdAt: Date
  /**
   * outbox.payload, the event's data as it was when it happened, as JSON text (jsonb's own
   * output, `payload::text`): put into the body as it is, never parsed and written again.
   */
  dataJson: string
}

/**
 * The `webhook-id` of an event, `evt_` + its public id (a random UUID): the same on every attempt
 * and for every endpoint, so a receiver drops a duplicate (a retry after a lost answer, a
 * redelivery) by it; and unique across databases and restores, so it drops nothing else (never
 * `outbox.id`, which every database numbers from 1 and a point-in-time restore rewinds).
 */
export const webhookId = (publicId: string): string => `evt_${publicId}`

/**
 * The request body, the Standard Webhooks envelope: `{"type","timestamp","data"}`, `timestamp`
 * the ISO 8601 time the event happened, `data` the stored payload's JSON text as it is. The same
 * bytes on every attempt (jsonb writes its keys in one order, the same each time).
 */
export const eventBody = (event: OutgoingEvent): string =>
  `{"type":${JSON.stringify(event.type)},"timestamp":"${event.createdAt.toISOString()}","data":${event.dataJson}}`

/** HMAC keys by secret, decoded once (a few endpoints; a rotated secret leaves its old key). */
const keys = new Map<string, KeyObject>()
const maxKeys = 256

/**
 * The key of a `whsec_…` secret: the bytes of its base64 part. Whether the secret is valid is
 * the specification library's call (its Webhook constructor decodes strictly and refuses an
 * empty key), so what we sign with is what a receiver using it verifies with.
 */
function keyOf(secret: string): KeyObject {
  let key = keys.get(secret)
  if (key) return key
  try {
    new Webhook(secret)
  } catch {
    throw new Error('the endpoint secret is not a valid whsec_ secret')
  }
  key = createSecretKey(Buffer.from(secret.replace(/^whsec_/, ''), 'base64'))
  if (keys.size >= maxKeys) keys.clear()
  keys.set(secret, key)
  return key
}

/** `v1,` + base64 HMAC-SHA256 of `id.timestamp.body` keyed with the secret's bytes. */
const v1 = (secret: string, signed: string, body: string) =>
  `v1,${createHmac('sha256', keyOf(secret)).update(signed).update(body).digest('base64')}`

/**
 * The Standard Webhooks headers for one attempt: `webhook-id`, `webhook-timestamp` (this
 * attempt's time, whole seconds since the epoch: receivers refuse stale ones, so a retry is
 * signed anew) and `webhook-signature` (`v1,` + base64 HMAC-SHA256 of `id.timestamp.body`, keyed
 * with the base64-decoded part of `whsec_…`: the specification's "Signature scheme"). With a
 * `previousSecret` (a rotation's overlap window, secret-rotation.ts) the header lists two
 * signatures, space-delimited, the current secret's first: a receiver with either secret
 * verifies (the specification's zero-downtime rotation). Signed with node:crypto's native HMAC,
 * not the library's pure-JavaScript SHA-256 (a tenth of the CPU per signature); tests verify
 * what is signed here with the library (test/webhooks/signing.test.ts). Throws when a secret is
 * not valid (the message never contains the secret).
 */
export function signatureHeaders(
  secret: string,
  msgId: string,
  body: string,
  now: Date,
  previousSecret?: string | null,
): Record<string, string> {
  const timestamp = String(Math.floor(now.getTime() / 1000))
  const signed = `${msgId}.${timestamp}.`
  const current = v1(secret, signed, body)
  return {
    'webhook-id': msgId,
    'webhook-timestamp': timestamp,
    'webhook-signature': previousSecret
      ? `${current} ${v1(previousSecret, signed, body)}`
      : current,
  }
}

/** The URL policy (url-policy.ts's checkWebhookUrl), passed in so tests can give their own. */
export type UrlCheck = (
  url: string,
  options: { allowLocal: boolean },
) => Promise<{ ok: true; url: URL | string; addresses: Addresses } | { ok: false; reason: string }>

/**
 * The outcome of one attempt. `status` is the HTTP status when an answer came, else null.
 * `retryAfterMs`: on a 429 or 503 with a valid `Retry-After`, the wait it asks for, in
 * milliseconds from the answer (retry-after.ts; unbounded: outcomes.ts bounds it).
 */
export type AttemptResult =
  | { ok: true; status: number }
  | { ok: false; status: number | null; error: string; retryAfterMs?: number }

export interface SendOptions {
  /** A 2xx must come within this (10 s by the issue); the whole exchange is cut then. */
  timeoutMs: number
  /** Aborts the send (the dispatcher stopping). */
  signal?: AbortSignal
  /** The keep-alive agent for this URL's checked addresses (Agents.for). */
  agents: Agents
}

/** Most bytes of a response body read (the issue: up to 1 KiB); the rest is never read. */
export const MAX_RESPONSE_BYTES = 1024
/** Most characters of a response body kept in last_error. */
const EXCERPT_CHARS = 200
/** A short, printable piece of a response body for last_error. */
function excerpt(bytes: Buffer): string {
  return bytes
    .toString('utf8')
    .replace(/\p{Cc}+/gu, ' ')
    .trim()
    .slice(0, EXCERPT_CHARS)
}

/** A wait for last_error: whole seconds rounded up (`120 s`), or `years ahead` past 30 years. */
const waitText = (ms: number) => (ms < 1e12 ? `${Math.ceil(ms / 1000)} s` : 'years ahead')

/**
 * POSTs `body` to `url`, connecting only to `addresses` (when given), and settles with the
 * outcome; never rejects. A 2xx counts as soon as its status line arrives within `timeoutMs`;
 * anything else (3xx: redirects are not followed; 4xx; 5xx; a refused connection; the timeout)
 * fails with a one-line reason, including up to 200 characters of the first 1 KiB of the body;
 * a 429's or 503's valid `Retry-After` is answered as `retryAfterMs` and named in the reason.
 *
 * node:http rather than fetch: its `lookup` option (on the agent: agents.ts) pins the connection to the checked addresses
 * without an extra dependency (fetch needs undici's Agent for that), it follows no redirect, and
 * the body is read only as far as we choose.
 */
export function send(
  url: URL,
  addresses: Addresses | undefined,
  headers: Record<string, string>,
  body: string,
  { timeoutMs, signal, agents }: SendOptions,
): Promise<AttemptResult> {
  return new Promise((resolve) => {
    const secure = url.protocol === 'https:'
    let settled = false
    // One timer and one abort listener per request, not AbortSignal.timeout/any and the
    // request's `signal` option: those cost more CPU than the rest of the send together
    // (docs/benchmarks.md, "Webhooks under order load").
    let cut: string | undefined
    // Set once a failure's status line came: a body still coming when the timer fires does not
    // turn a 500 into "no answer" (the answer was given; its status is what counts).
    let answered: (() => void) | undefined
    const stop = (why: string) => {
      cut ??= why
      answered?.()
      // With an error: the request then always emits 'error' (without one, a request cut before
      // it had a socket only closes).
      request.destroy(new Error(why))
    }
    const timer = setTimeout(() => stop(`no answer within ${timeoutMs / 1000} s`), timeoutMs)
    const onAbort = () => stop('abandoned: the dispatcher stopped')
    const settle = (result: AttemptResult) => {
      if (settled) return
      settled = true
      resolve(result)
    }
    const request = (secure ? https : http).request(
      url,
      {
        method: 'POST',
        agent: agents.for(url, addresses),
        headers: {
          ...headers,
          'content-type': 'application/json',
          'content-length': String(Buffer.byteLength(body)),
          'user-agent': 'order-service-webhooks/1',
        },
      },
      (response) => {
        const status = response.statusCode ?? 0
        const success = status >= 200 && status < 300
        if (success) settle({ ok: true, status })
        // Read when the answer comes: delay-seconds count from the answer (RFC 9110, 10.2.3).
        // node:http keeps the first of repeated Retry-After fields.
        const retryAfter = retryAfterStatuses.has(status)
          ? retryAfterMs(response.headers['retry-after'], Date.now())
          : undefined
        const chunks: Buffer[] = []
        let size = 0
        const done = () => {
          if (success) return
          const reason =
            status >= 300 && status < 400
              ? `answered ${status} (redirects are not followed)`
              : retryAfter === undefined
                ? `answered ${status}`
                : `answered ${status}, Retry-After ${waitText(retryAfter)}`
          const text = excerpt(Buffer.concat(chunks))
          const error = text ? `${reason}: ${text}` : reason
          settle(
            retryAfter === undefined
              ? { ok: false, status, error }
              : { ok: false, status, error, retryAfterMs: retryAfter },
          )
        }
        answered = done
        response.on('data', (chunk: Buffer) => {
          chunks.push(chunk.subarray(0, MAX_RESPONSE_BYTES - size))
          size += chunk.length
          if (size >= MAX_RESPONSE_BYTES) {
            // Enough read: the rest is never taken off the socket (which is closed with it).
            response.destroy()
            done()
          }
        })
        response.on('end', done)
        response.on('close', done)
        response.on('error', done)
      },
    )
    // The timer runs until the exchange is over, past a 2xx's status line: a body still
    // trickling in 10 s after the request was sent is cut then, and its connection with it.
    request.on('close', () => {
      clearTimeout(timer)
      signal?.removeEventListener('abort', onAbort)
      // Nothing else settled it (no answer, no error): the exchange ended without an outcome.
      settle({ ok: false, status: null, error: cut ?? 'the connection closed without an answer' })
    })
    request.on('error', (err: Error & { code?: string }) => {
      settle({
        ok: false,
        status: null,
        error: cut ?? `could not connect: ${err.code ?? err.message}`,
      })
    })
    if (signal?.aborted) onAbort()
    else signal?.addEventListener('abort', onAbort, { once: true })
    request.end(body)
  })
}

/**
 * One delivery attempt: checks the URL against the policy now (DNS can change after an endpoint
 * is registered), signs, sends to the checked addresses. A URL the policy refuses is a failed
 * attempt whose error says why; nothing is sent to it.
 */
export async function attemptDelivery(
  endpoint: { url: string; secret: string; previousSecret?: string | null },
  event: OutgoingEvent,
  {
    check,
    allowLocal,
    now = new Date(),
    ...sendOptions
  }: SendOptions & { check: UrlCheck; allowLocal: boolean; now?: Date },
): Promise<AttemptResult> {
  let checked: Awaited<ReturnType<UrlCheck>>
  try {
    checked = await check(endpoint.url, { allowLocal })
  } catch (err) {
    return { ok: false, status: null, error: `URL check failed: ${(err as Error).message}` }
  }
  if (!checked.ok) return { ok: false, status: null, error: `URL refused: ${checked.reason}` }
  const body = eventBody(event)
  let headers: Record<string, string>
  try {
    const msgId = webhookId(event.publicId)
    headers = signatureHeaders(endpoint.secret, msgId, body, now, endpoint.previousSecret)
  } catch (err) {
    return { ok: false, status: null, error: (err as Error).message }
  }
  const url = checked.url instanceof URL ? checked.url : new URL(checked.url)
  return send(url, checked.addresses, headers, body, sendOptions)
}
