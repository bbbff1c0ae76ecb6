import { isIP } from 'node:net'

/** What an SMTP_URL refusal shows the operator: the two forms, credentials optional. */
const shape =
  'like smtps://user:password@smtp.example.com:465 or smtp://smtp.example.com:587 (user and password optional; URL-encode @, : and / in them)'

/** The one query parameter SMTP_URL takes (nodemailer would take any of its options there). */
const parameters = ['requireTLS']

/** A word of the URL as a refusal quotes it: at most 40 characters, control characters escaped. */
const quoted = (word: string) => JSON.stringify(word.slice(0, 40))

/** Whether `host` (a URL's hostname) is this machine: localhost, 127.0.0.0/8 or ::1. */
export function isLoopback(host: string): boolean {
  const bare = host.replace(/^\[|\]$/g, '').toLowerCase()
  if (bare === 'localhost' || bare === '::1') return true
  return isIP(bare) === 4 && bare.startsWith('127.')
}

/**
 * Why SMTP_URL cannot be used, completing "SMTP_URL …", or null: not a URL, a scheme other than
 * smtp:// or smtps://, an @ after a / ? or # (one in the password not URL-encoded), no host, a port outside 1-65535, a query parameter other than
 * `requireTLS=true|false` (nodemailer would read any of its options from the query, such as
 * `tls.rejectUnauthorized=false`: only the documented one is taken), or a user with
 * `requireTLS=false` on smtp:// to a host that is not loopback (the password in the clear,
 * which the README promises never happens). Never quotes the user or the password.
 */
export function smtpUrlProblem(value: string): string | null {
  const scheme = /^([a-z][a-z0-9+.-]{0,15}):\/\//i.exec(value)?.[1]
  if (scheme === undefined) return `is not a URL: give one ${shape}`
  if (!/^smtps?$/i.test(scheme)) {
    return `must start with smtp:// or smtps://, not ${scheme}://: give one ${shape}`
  }
  // An @ past the authority: a / ? or # in the password ended it early, and the host would be
  // read from the password (`u:p@ss/w@mail.example.com` is the server "ss", named in warnings).
  const rest = value.slice(scheme.length + 3)
  if (rest.includes('@', /^[^/?#]*/.exec(rest)?.[0].length))
    return `has an @ after a /, ? or #: a user or password holding one must have it URL-encoded (/ as %2F, ? as %3F, # as %23, @ as %40): give one ${shape}`
  const port = /^[^:]+:\/\/(?:[^/?#]*@)?(?:\[[^\]]*\]|[^:/?#@]*):([^/?#@]*)(?:[/?#]|$)/.exec(
    value,
  )?.[1]
  if (
    port !== undefined &&
    port !== '' &&
    !(/^\d{1,5}$/.test(port) && +port >= 1 && +port <= 65535)
  ) {
    return 'has a port that is not a number from 1 to 65535'
  }
  if (/\s/.test(value)) return 'has a space or a line break in it (in a user or password: %20)'
  if (/^[^:]+:\/\/(?:[^/?#]*@)?(?:[:/?#]|$)/.test(value)) return `names no host: give one ${shape}`
  let url: URL
  try {
    url = new URL(value)
  } catch {
    return `is not a URL (an @, : or / in the user or password not URL-encoded?): give one ${shape}`
  }
  if (!url.hostname) return `names no host: give one ${shape}`
  if (url.port === '0') return 'has a port that is not a number from 1 to 65535'
  const names = [...url.searchParams.keys()]
  const unknown = names.find((name) => !parameters.includes(name))
  if (unknown !== undefined) {
    return `has the parameter ${quoted(unknown)}, which the service does not take: the only one is requireTLS=false, for a server on this machine without TLS`
  }
  const requireTls = url.searchParams.getAll('requireTLS')
  if (requireTls.length > 1) return 'has requireTLS more than once'
  if (requireTls.length === 1 && !['true', 'false'].includes(requireTls[0] ?? '')) {
    return 'takes requireTLS=true or requireTLS=false only'
  }
  if (
    requireTls[0] === 'false' &&
    url.username &&
    url.protocol === 'smtp:' &&
    !isLoopback(url.hostname)
  ) {
    return `has a user and requireTLS=false for ${url.hostname}, which would send the password in the clear: only a server on this machine (localhost, 127.0.0.1, ::1) may go without TLS; drop requireTLS=false, or use smtps://`
  }
  return null
}
