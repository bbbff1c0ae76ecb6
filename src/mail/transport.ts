import nodemailer from 'nodemailer'
import type { MailSettings } from './settings.ts'

/** An address in a server's answer ("<ada@example.com>: mailbox unavailable") is not logged. */
export function redactAddresses(text: string): string {
  return text.replace(/[^\s<>@"']+@[^\s<>@"']+/g, '<address>')
}

/**
 * A nodemailer transport to the SMTP server of `settings`, one connection per message (not
 * nodemailer's pool: the pool sends a message again by itself when a connection drops mid-send,
 * maxRequeues, behind the queue's back; here every attempt is one the queue counts and leases).
 * `socketTimeoutMs`: how long the server may stay silent mid-session.
 */
export function smtpTransport(settings: MailSettings, socketTimeoutMs: number) {
  return nodemailer.createTransport({
    url: settings.smtpUrl,
    // smtp:// with a user: STARTTLS or no send, never the password (and the shopper's data) in
    // the clear to a server, or a man in the middle, that offers no STARTTLS. The URL's own
    // `?requireTLS=false` still wins (a local catcher without TLS).
    requireTLS: /^smtp:\/\/[^/@]+@/i.test(settings.smtpUrl),
    connectionTimeout: 10_000,
    greetingTimeout: 10_000,
    socketTimeout: socketTimeoutMs,
  })
}

/**
 * Why a send or a check failed, completing "the SMTP server at host:port …", in words an
 * operator acts on, from nodemailer's error (`code`, `command`, `response`): the login refused,
 * no STARTTLS, a certificate not trusted, the sender refused, no answer; else its message.
 * Addresses are redacted; the credentials are never in it (nodemailer's messages hold the
 * server's answer, not what was sent).
 */
export function failureReason(err: unknown): string {
  const e = err as { code?: unknown; command?: unknown; message?: unknown; response?: unknown }
  const said = redactAddresses(String(e.response ?? e.message ?? err)).slice(0, 300)
  const message = String(e.message ?? err)
  if (e.code === 'EAUTH') {
    return `refused the login (${said}): check the user and password in SMTP_URL`
  }
  if (/certificate|self[- ]signed|CERT_|altnames/i.test(message)) {
    return `presented a certificate that is not trusted (${redactAddresses(message)})`
  }
  if (e.code === 'ETLS') {
    return `offers no working STARTTLS (${said}), and SMTP_URL has credentials, which are never sent in the clear: use smtps:// or a server with STARTTLS`
  }
  if (e.code === 'EENVELOPE' && e.command === 'MAIL FROM') {
    return `refused the sender (${said}): set MAIL_FROM to an address on a domain this server lets the shop send from`
  }
  if (
    e.code === 'EENVELOPE' &&
    e.command === 'RCPT TO' &&
    enhancedStatusSubject(e.response) === 7
  ) {
    return `refused to take the e-mail for its recipient (${said}): a server that answers so for every recipient does not relay for the shop; check the user in SMTP_URL and MAIL_FROM`
  }
  // smtps:// to a port that greets in plain text (587, 25): the server did answer, so "does not
  // answer" would send the operator looking for one that is down; the fix is the scheme or port.
  if (/wrong version number/i.test(message)) {
    return 'answers in plain text, not the TLS that smtps:// starts with (OpenSSL: wrong version number): for a port that offers STARTTLS, such as 587 or 25, write smtp://; smtps:// is for a port such as 465'
  }
  if (['ECONNECTION', 'ETIMEDOUT', 'EDNS', 'ESOCKET'].includes(String(e.code))) {
    return `does not answer (${redactAddresses(message)})`
  }
  return `failed: ${redactAddresses(message)}`
}

/** The subject of a reply's enhanced status code (`550 5.7.1 …` → 7; RFC 3463 §2), if it has one. */
export function enhancedStatusSubject(response: unknown): number | undefined {
  const match =
    typeof response === 'string' ? /^\d{3}[ -]([245])\.(\d{1,3})\.\d{1,3}\b/.exec(response) : null
  return match ? Number(match[2]) : undefined
}

/**
 * Connects to the SMTP server of `settings` and logs in as a send would (nodemailer's verify:
 * greeting, STARTTLS, certificate, login; not the sender, which only a send shows). Resolves
 * with null when that worked, else the failureReason; never rejects.
 */
export async function checkSmtpServer(settings: MailSettings): Promise<string | null> {
  const transport = smtpTransport(settings, 10_000)
  try {
    await transport.verify()
    return null
  } catch (err) {
    return failureReason(err)
  } finally {
    transport.close()
  }
}
