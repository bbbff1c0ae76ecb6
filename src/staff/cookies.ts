/**
 * Hosts a browser treats as a secure context over plain HTTP (localhost, `*.localhost`,
 * 127.0.0.0/8, `[::1]`), where it keeps Secure and `__Host-` cookies. `hostname` as Fastify's
 * `request.hostname` gives it: no port, an IPv6 address in brackets.
 */
export function isLoopbackHost(hostname: string): boolean {
  const host = hostname.toLowerCase()
  return (
    host === 'localhost' ||
    host.endsWith('.localhost') ||
    host === '[::1]' ||
    /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host)
  )
}

/**
 * Why signing in cannot work on this request, or undefined when it can: in production the
 * cookies are Secure (`__Host-`), which a browser drops from a plain-HTTP answer unless the host
 * is loopback, so the sign-in form's CSRF cookie never comes back and every sign-in is a 403
 * that reloading cannot fix. `protocol` is Fastify's `request.protocol` (TRUST_PROXY-aware:
 * `https` behind a trusted front end that terminated TLS).
 */
export function insecureSignIn(
  production: boolean,
  request: { protocol: string; hostname: string },
): string | undefined {
  if (!production || request.protocol === 'https' || isLoopbackHost(request.hostname)) {
    return undefined
  }
  return 'Sign-in needs HTTPS. This page came over plain HTTP, and the sign-in and session cookies are Secure, which browsers keep only from HTTPS sites (or localhost): without them every sign-in is refused as an expired form, however often the page is reloaded. Open the back office at its https:// address; behind a proxy that ends TLS, set TRUST_PROXY so the service sees the original protocol.'
}
