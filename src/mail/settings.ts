import { isIPv4 } from 'node:net'
import type { Config } from '../config.ts'

/** The shop's name, as the pages show it. */
export const shopName = 'Trailhead Goods'

/** What sending the order e-mails needs, read from the config (null: mail is off). */
export interface MailSettings {
  /** smtp:// or smtps:// URL, credentials included: never logged. */
  smtpUrl: string
  /** The From header: MAIL_FROM, or `Trailhead Goods <orders@host of PUBLIC_BASE_URL>`. */
  from: string
  /** PUBLIC_BASE_URL without its trailing slash: links are `${baseUrl}/orders/<number>`. */
  baseUrl: string
  /** The right-hand side of Message-IDs: the From address's domain. */
  messageIdDomain: string
  /** `host:port` of the SMTP server, for the log (no credentials). */
  server: string
}

/**
 * The mail settings, or null when SMTP_URL is unset (loadConfig has checked that SMTP_URL
 * and PUBLIC_BASE_URL parse and that SMTP_URL comes with PUBLIC_BASE_URL).
 */
export function mailSettings(config: Config): MailSettings | null {
  if (!config.SMTP_URL || !config.PUBLIC_BASE_URL) return null
  const base = new URL(config.PUBLIC_BASE_URL)
  // An address literal is bracketed, an IPv6 one tagged too (RFC 5321, 4.1.3): a URL writes
  // [::1], an e-mail address [IPv6:::1] and [127.0.0.1]. SMTP servers refuse orders@[::1] as a
  // sender (501), so every e-mail failed; orders@127.0.0.1 is no domain either.
  const domain = base.hostname.startsWith('[')
    ? `[IPv6:${base.hostname.slice(1, -1)}]`
    : isIPv4(base.hostname)
      ? `[${base.hostname}]`
      : base.hostname
  const from = config.MAIL_FROM ?? `${shopName} <orders@${domain}>`
  const address = /<([^<>]+)>\s*$/.exec(from)?.[1] ?? from
  const smtp = new URL(config.SMTP_URL)
  const port = smtp.port || (smtp.protocol === 'smtps:' ? '465' : '587')
  return {
    smtpUrl: config.SMTP_URL,
    from,
    baseUrl: config.PUBLIC_BASE_URL.replace(/\/+$/, ''),
    messageIdDomain: address.slice(address.lastIndexOf('@') + 1),
    server: `${smtp.hostname}:${port}`,
  }
}
