/**
 * The few cookies the service uses, read and written by hand: their values are base64url
 * (newSecret), base64 (a webhook signing secret, staff/secret-reveal.ts) or a UUID (the order
 * form's key), whose characters are all cookie-octets (RFC 6265 §4.1.1) and need no encoding,
 * so a parser library would add nothing.
 */

/** The value of cookie `name` in a Cookie header (RFC 6265 §5.4: `a=1; b=2`), or undefined. */
export function readCookie(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined
  for (const pair of header.split(';')) {
    const eq = pair.indexOf('=')
    if (eq > 0 && pair.slice(0, eq).trim() === name) return pair.slice(eq + 1).trim()
  }
  return undefined
}

export interface CookieOptions {
  /** Seconds; 0 deletes the cookie. */
  maxAge: number
  /** Production: `Secure` (and the `__Host-` name the caller chose needs it). */
  secure: boolean
  /** Where the browser sends it back (RFC 6265 §5.2.4); `/`, the whole site, unless given. */
  path?: string
}

/**
 * A Set-Cookie value that scripts cannot read (HttpOnly), that cross-site requests other than
 * top-level navigations do not carry (SameSite=Lax), for the whole site unless `path` says
 * otherwise (Path=/, no Domain: what a `__Host-` name requires), and Secure in production.
 */
export function cookie(
  name: string,
  value: string,
  { maxAge, secure, path = '/' }: CookieOptions,
): string {
  return [
    `${name}=${value}`,
    `Path=${path}`,
    `Max-Age=${maxAge}`,
    'HttpOnly',
    'SameSite=Lax',
    ...(secure ? ['Secure'] : []),
  ].join('; ')
}
