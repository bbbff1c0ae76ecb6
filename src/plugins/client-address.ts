import fp from 'fastify-plugin'
import type { Config } from '../config.ts'

/**
 * Fastify's trustProxy from TRUST_PROXY: `true` (trust any front end), `false`, a hop count, or
 * a comma-separated list of addresses/CIDRs of the front ends to trust. Behind Azure's front end
 * the client's address then comes from X-Forwarded-For, which the rate limit keys on.
 */
export function trustProxy(
  value: string,
): boolean | string | ((address: string, hop: number) => boolean) {
  if (value === 'true') return true
  if (value === 'false') return false
  if (/^\d+$/.test(value)) {
    const hops = Number(value)
    return (_address, hop) => hop < hops
  }
  return value
}

/**
 * One X-Forwarded-For entry with a port: `a.b.c.d:port` (group 1 is the address), or a
 * bracketed IPv6 address with or without one, `[v6]:port` or `[v6]` (group 2). A bare IPv6
 * address (`2001:db8::1`, `::ffff:192.0.2.1`) has colons too, so it matches neither and stays.
 */
const entryWithPort = /^(\d{1,3}(?:\.\d{1,3}){3}):\d{1,5}$|^\[([^\]]+)\](?::\d{1,5})?$/

/**
 * An X-Forwarded-For value with every entry's port dropped (`203.0.113.5:51234` →
 * `203.0.113.5`, `[2001:db8::1]:51234` → `2001:db8::1`), the entries' order and count kept; the
 * same string when no entry has one (always so without a colon: bare IPv4 addresses).
 */
export function withoutPorts(header: string): string {
  if (!header.includes(':')) return header
  const entries = header.split(',')
  let changed = false
  for (let i = 0; i < entries.length; i++) {
    const match = entryWithPort.exec((entries[i] as string).trim())
    if (match) {
      entries[i] = (match[1] ?? match[2]) as string
      changed = true
    }
  }
  return changed ? entries.join(',') : header
}

/**
 * The client's address without its port, for everything that reads `request.ip` (the order rate
 * limit, the sign-in and password-change throttles, whatever logs it). Azure's front ends write
 * `ip:port` entries in X-Forwarded-For: Application Gateway by design ("a comma-separated list of
 * IP:Port", learn.microsoft.com/azure/application-gateway/application-gateway-faq), App Service's
 * front end as reported (koajs/koa#827, open-telemetry/opentelemetry-js#5933). proxy-addr, behind
 * Fastify's request.ip, returns an entry as written (koa#827 is still open: its author notes that
 * a bare IPv6 address has colons too, so a port cannot be split off blindly), so each connection's
 * new port made a new client, with a fresh rate-limit budget.
 *
 * Fastify 5 computes request.ip and request.ips on every read from
 * `request.raw.headers['x-forwarded-for']` (a getter in fastify/lib/request.js, through
 * @fastify/proxy-addr and @fastify/forwarded, which read no `Forwarded` header), and runs the
 * app's onRequest hooks before a route's own (the rate limit's): so this hook, the app's first,
 * rewrites that header's entries without their ports and everything after it sees them so. Which
 * entry is the client's stays TRUST_PROXY's to say: entries are rewritten, never dropped or moved,
 * so a spoofed leftmost one beyond the trusted hops is still not trusted (and behind a list of
 * front ends' addresses, their own `ip:port` entries now match it). Registered only when
 * TRUST_PROXY trusts a front end (otherwise the header is never read); a request without the
 * header costs one property read.
 */
export default fp(
  async (app, { config }: { config: Config }) => {
    if (trustProxy(config.TRUST_PROXY) === false) return
    app.addHook('onRequest', (request, _reply, done) => {
      const headers = request.raw.headers
      const forwarded = headers['x-forwarded-for']
      if (typeof forwarded === 'string') headers['x-forwarded-for'] = withoutPorts(forwarded)
      done()
    })
  },
  { name: 'client-address' },
)
