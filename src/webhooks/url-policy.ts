import { lookup as dnsLookup } from 'node:dns/promises'
import ipaddr from 'ipaddr.js'
import { isMetadataAddress, metadataNames } from './metadata.ts'
import { asTypedProblem } from './url-as-typed.ts'

/**
 * Where a webhook may be sent (issue 16, "Safety"). A webhook URL is typed by an admin but
 * fetched by the service, from inside its network: without a policy it is a way to make the
 * service call its own database, the cloud metadata service (credentials) or anything else on a
 * private network (SSRF). The policy is checked when an endpoint is registered and again before
 * every delivery, because what a name resolves to can change.
 *
 * Rules (production, `allowLocal: false`):
 * - no whitespace, control or invisible character in it as typed (the parser would drop a tab
 *   or a line break and send to another URL than the one shown: `/a<TAB>b` is `/ab`), and no
 *   host or path it would rewrite (dot segments, IPv4 in another base, url-as-typed.ts);
 * - an absolute URL, `https:` only, written `https://host/path` (not `https:host/path` or with
 *   backslashes, which the parser mends), no user name or password in it, not port 0 (nothing
 *   listens there: every delivery would fail until the endpoint is disabled);
 * - not a local or cloud metadata host name (`localhost`, `*.localhost`,
 *   `metadata.google.internal`…);
 * - EVERY address the host resolves to (or the literal address in the URL) is public: not
 *   loopback, private (RFC 1918), carrier-grade NAT (100.64.0.0/10), link-local (169.254.0.0/16,
 *   fe80::/10), unspecified, multicast, broadcast, reserved or documentation ranges, unique
 *   local (fc00::/7), nor any other special-purpose block (NAT64, 6to4, Teredo…); an IPv4-mapped
 *   IPv6 address (`::ffff:10.0.0.1`) is judged as the IPv4 address it carries. IPv6 must be in
 *   global unicast (2000::/3). Classification is ipaddr.js's (the library behind Express's and
 *   Fastify's trust-proxy), refusing every range it names except plain `unicast`.
 *
 * With `allowLocal: true` (WEBHOOKS_ALLOW_LOCAL=true: local development and tests) plain `http:`
 * and any address are allowed, except the cloud metadata service, which no webhook needs.
 */

/** What the URL's host resolved to, as `dns.promises.lookup(host, { all: true })` answers. */
export type Lookup = (host: string) => Promise<{ address: string; family: number }[]>

export interface UrlPolicyOptions {
  /** WEBHOOKS_ALLOW_LOCAL: plain http and non-public addresses allowed. */
  allowLocal: boolean
  /** Resolver of the host (tests inject one); default `dns.promises.lookup` with `all`. */
  lookup?: Lookup
  /** How long the resolver may take before the URL is refused (getaddrinfo has no timeout). */
  lookupTimeoutMs?: number
}

/** Default `lookupTimeoutMs`: a name that takes longer is refused, not waited for. */
export const defaultLookupTimeoutMs = 5000

/** The lookup, or a rejection with code ETIMEOUT once `ms` have passed. */
async function lookupWithin(lookup: Lookup, host: string, ms: number) {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(Object.assign(new Error('lookup timed out'), { code: 'timed out' })),
      ms,
    )
  })
  try {
    return await Promise.race([lookup(host), timeout])
  } finally {
    clearTimeout(timer)
  }
}

export type UrlVerdict = { ok: true; url: URL; addresses: string[] } | { ok: false; reason: string }
export type UrlSyntaxVerdict = { ok: true; url: URL } | { ok: false; reason: string }

const defaultLookup: Lookup = (host) => dnsLookup(host, { all: true })

const localOnly = 'WEBHOOKS_ALLOW_LOCAL=true allows it for local development'

/** ipaddr.js range names, as a person reads them. */
const rangeNames: Record<string, string> = {
  loopback: 'a loopback address',
  private: 'a private address (RFC 1918)',
  carrierGradeNat: 'a carrier-grade NAT address (100.64.0.0/10)',
  linkLocal: 'a link-local address',
  uniqueLocal: 'a unique local address (fc00::/7)',
  unspecified: 'the unspecified address',
  multicast: 'a multicast address',
  broadcast: 'the broadcast address',
  reserved: 'a reserved or documentation address',
}

const globalUnicast = ipaddr.parseCIDR('2000::/3')

/**
 * Why `address` may not receive webhooks, or undefined when it is public (or `allowLocal` and
 * not a metadata address). Addresses are judged after unwrapping IPv4-mapped IPv6; a metadata
 * address inside another IPv6 form (metadata.ts) is one too.
 */
function addressProblem(address: string, allowLocal: boolean): string | undefined {
  if (!ipaddr.isValid(address)) return 'not an IP address'
  const ip = ipaddr.process(address) // ::ffff:a.b.c.d becomes a.b.c.d
  // Refused with WEBHOOKS_ALLOW_LOCAL too, whatever IPv6 form carries it.
  if (isMetadataAddress(ip)) return 'the cloud metadata service'
  if (allowLocal) return undefined
  const range = ip.range()
  if (range !== 'unicast') return rangeNames[range] ?? `a special-purpose address (${range})`
  if (ip.kind() === 'ipv6' && !ip.match(globalUnicast)) {
    return 'a special-purpose address (outside global unicast 2000::/3)'
  }
  return undefined
}

/** The URL's host without IPv6 brackets or a trailing dot, lower case (the parser's). */
const bareHost = (url: URL) => url.hostname.replace(/^\[|\]$/g, '').replace(/\.$/, '')

/** RFC 3986's unreserved characters: an escape of one of them is the character itself. */
const unreserved = /^[A-Za-z0-9\-._~]$/

/** `%7e` → `~`, `%2f` → `%2F` (section 6.2.2.1-2); the text otherwise as it is. */
const escapesNormalised = (text: string) =>
  text.replace(/%[0-9A-Fa-f]{2}/g, (escaped) => {
    const char = String.fromCharCode(Number.parseInt(escaped.slice(1), 16))
    return unreserved.test(char) ? char : escaped.toUpperCase()
  })

/**
 * One spelling of a URL, as it is stored and compared (one endpoint per URL, unique-url.ts):
 * the parser's (WHATWG: scheme and host lower case, default port dropped, dot segments
 * resolved), then without a #fragment (never sent) or an empty `?` (no receiver tells it from
 * none), percent-escapes of unreserved characters decoded and the others upper case
 * (`/%61%32` is `/a2`, RFC 3986 section 6.2.2), an IPv4-mapped IPv6 host written as its IPv4
 * address (`[::ffff:127.0.0.1]` is `127.0.0.1`), and a host's trailing dot dropped
 * (`localhost.`). Each of these made a second endpoint on one URL, every event sent twice.
 * Different names stay different (`localhost`, `127.0.0.1`): only DNS says they are one.
 */
export function normaliseWebhookUrl(url: URL): URL {
  const out = new URL(url.href)
  out.hash = ''
  const host = bareHost(out)
  if (ipaddr.IPv6.isValid(host)) {
    const ip = ipaddr.IPv6.parse(host)
    if (ip.isIPv4MappedAddress()) out.hostname = ip.toIPv4Address().toString()
  } else if (out.hostname.endsWith('.')) {
    out.hostname = host
  }
  out.pathname = escapesNormalised(out.pathname)
  out.search = out.search === '?' ? '' : escapesNormalised(out.search)
  return out
}

/**
 * Whitespace, controls (C0 such as tab and line feed, DEL, C1) and invisible format characters
 * (zero-width space, bidi controls). The WHATWG parser removes tab and newline anywhere and
 * controls and spaces at the edges, and encodes the rest, so the URL stored would not be the one
 * typed; refused instead, naming the character and where it is.
 */
const unseen = /[\s\p{Cc}\p{Cf}\p{Z}]/u

/** `U+0009`: a code point as Unicode writes it. */
const codePoint = (char: string) =>
  `U+${(char.codePointAt(0) ?? 0).toString(16).toUpperCase().padStart(4, '0')}`

/** Why the URL as typed holds a character it may not, or undefined. */
function unseenProblem(url: string): string | undefined {
  const found = unseen.exec(url)
  if (!found) return undefined
  const char = found[0]
  const name =
    char === ' ' ? 'a space' : char === '\t' ? 'a tab' : `the character ${codePoint(char)}`
  const at = [...url.slice(0, found.index)].length + 1
  return `The URL must not contain spaces, tabs, line breaks or other control or invisible characters: it has ${name} at character ${at}. Write a space in a path or query as %20.`
}

/**
 * Whether `url` has its scheme followed by exactly two slashes and no backslash before its query:
 * the parser reads `https:host/h`, `https:/host/h`, `https:///host/h` and a backslash (in http
 * and https URLs) as if they were written `https://host/h`, so the URL stored would not be the
 * one typed.
 */
const slashesAsTyped = (url: string) =>
  /^[A-Za-z][A-Za-z0-9+.-]*:\/\/[^/\\]/.test(url) && !/^[^?#]*\\/.test(url)

/**
 * The checks that need no DNS: an absolute URL, no whitespace or control character as typed, the scheme, no credentials, no local or metadata
 * host name, and a literal address in the URL judged as a resolved one would be. For callers
 * that cannot wait on DNS; `checkWebhookUrl` runs it first.
 */
export function checkWebhookUrlSyntax(
  url: string,
  { allowLocal }: { allowLocal: boolean },
): UrlSyntaxVerdict {
  if (!URL.canParse(url)) {
    // The parser refuses a port above 65535 as it refuses a relative URL: say which it was.
    const port = /^[a-z][a-z0-9+.-]*:\/\/[^/?#]*:(\d+)(?:[/?#]|$)/i.exec(url)?.[1]
    if (port !== undefined && Number(port) > 65535) {
      return {
        ok: false,
        reason: `The URL's port ${port} is not a port: give one from 1 to 65535, or none.`,
      }
    }
    return { ok: false, reason: 'The URL must be an absolute URL, like https://example.com/hook.' }
  }
  const unseenReason = unseenProblem(url)
  if (unseenReason) return { ok: false, reason: unseenReason }
  const parsed = normaliseWebhookUrl(new URL(url))
  const schemes = allowLocal ? ['https:', 'http:'] : ['https:']
  if (!schemes.includes(parsed.protocol)) {
    const rule = allowLocal ? 'https or http' : `https (plain http only where ${localOnly})`
    return { ok: false, reason: `The URL must use ${rule}, not ${parsed.protocol.slice(0, -1)}.` }
  }
  if (!slashesAsTyped(url)) {
    const scheme = parsed.protocol.slice(0, -1)
    return {
      ok: false,
      reason: `The URL must be written as ${scheme}://host/path: two forward slashes after ${scheme}:, and forward slashes between its parts.`,
    }
  }
  if (parsed.username || parsed.password) {
    return { ok: false, reason: 'The URL must not contain a user name or password.' }
  }
  const rewritten = asTypedProblem(url, new URL(url))
  if (rewritten) return { ok: false, reason: rewritten }
  // The parser takes 0 (and 00…): no server listens there, and the connection is refused.
  if (parsed.port === '0') {
    return {
      ok: false,
      reason: 'The URL must not use port 0: give a port from 1 to 65535, or none.',
    }
  }
  const host = bareHost(parsed)
  if (metadataNames.has(host)) {
    return { ok: false, reason: `The host ${host} is a cloud metadata service.` }
  }
  if (!allowLocal && (host === 'localhost' || host.endsWith('.localhost'))) {
    return { ok: false, reason: `The host ${host} is a local name (${localOnly}).` }
  }
  if (ipaddr.isValid(host)) {
    const problem = addressProblem(host, allowLocal)
    if (problem) return { ok: false, reason: refusedAddress(`The address ${host}`, problem) }
  }
  return { ok: true, url: parsed }
}

const refusedAddress = (what: string, problem: string) =>
  `${what} is ${problem}: webhooks go to public addresses only${problem.includes('metadata') ? '' : ` (${localOnly})`}.`

/**
 * The whole policy: `checkWebhookUrlSyntax`, then the host resolved (all its addresses) and each
 * address judged. On success, the addresses to connect to: a dispatcher should connect to one of
 * THESE (not resolve again), or a name could resolve to a public address for the check and to a
 * private one for the request (DNS rebinding). A literal address is returned without a lookup.
 * Never throws: a failed lookup is `{ ok: false }` with the reason.
 */
export async function checkWebhookUrl(url: string, options: UrlPolicyOptions): Promise<UrlVerdict> {
  const syntax = checkWebhookUrlSyntax(url, options)
  if (!syntax.ok) return syntax
  const host = bareHost(syntax.url)
  if (ipaddr.isValid(host)) return { ok: true, url: syntax.url, addresses: [host] }
  let resolved: { address: string }[]
  try {
    resolved = await lookupWithin(
      options.lookup ?? defaultLookup,
      host,
      options.lookupTimeoutMs ?? defaultLookupTimeoutMs,
    )
  } catch (error) {
    const code = (error as { code?: unknown }).code
    return {
      ok: false,
      reason: `The host ${host} does not resolve${typeof code === 'string' ? ` (${code})` : ''}.`,
    }
  }
  if (resolved.length === 0) return { ok: false, reason: `The host ${host} does not resolve.` }
  for (const { address } of resolved) {
    const problem = addressProblem(address, options.allowLocal)
    if (problem) {
      return {
        ok: false,
        reason: refusedAddress(`The host ${host} resolves to ${address}, which`, problem),
      }
    }
  }
  return { ok: true, url: syntax.url, addresses: resolved.map((r) => r.address) }
}
