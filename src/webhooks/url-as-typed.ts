import { domainToUnicode } from 'node:url'

/**
 * Whether the WHATWG parser kept a webhook URL's host and path as typed (url-policy.ts). It
 * rewrites without a word: dot segments resolved (`/a/../b` is `/b`, `/%2E%2E` too), a host with
 * a number as its last label read as an IPv4 address in any base (`010.010.010.010`,
 * `0x08080808`, `134744072` are all 8.8.8.8), % escapes in a host decoded, an empty user name
 * (`https://@host/`) dropped. The URL stored and called would not be the one shown to the admin.
 * Allowed, since they change nothing a server sees: scheme and host case, an IPv6 address's
 * spelling, an international name written in Unicode (sent as its `xn--` form), a default port,
 * an empty path becoming `/`, and the characters a path must have escaped (`/a"b` is `/a%22b`).
 */

/** A path segment the parser resolves: `.`, `..`, and either with a dot written `%2e`. */
const dotSegment = /^(?:\.|%2e){1,2}$/i

/** What the parser escapes in a path: controls, space, `"<>^`{}` and everything past ASCII. */
const escapedInPath = /[^\x21-\x7E]|["<>^`{}]/gu

/** `path` as the parser writes it when it keeps every segment, or undefined if it cannot be. */
function pathEncoded(path: string): string | undefined {
  try {
    return (path || '/').replace(escapedInPath, (char) => encodeURIComponent(char))
  } catch {
    return undefined // a lone surrogate: the parser writes U+FFFD in its place
  }
}

/** Whether the parser's `hostname` is the host as typed, give or take what does not matter. */
function sameHost(typed: string, hostname: string): boolean {
  if (typed.startsWith('[')) return true // IPv6: the parser only respells the one address
  const lower = typed.toLowerCase()
  // An international name is sent as its xn-- form: the same name, if it reads back as typed.
  return lower === hostname || lower === domainToUnicode(hostname)
}

/**
 * Why the parser's reading `parsed` of `typed` (an absolute URL written `scheme://…` with no
 * backslash before its query, as url-policy.ts has checked) is not the URL typed, as a sentence
 * saying what to write instead; undefined when it is.
 */
export function asTypedProblem(typed: string, parsed: URL): string | undefined {
  const rest = typed.slice(typed.indexOf('//') + 2)
  const authority = /^[^/?#]*/.exec(rest)?.[0] ?? ''
  const path = /^[^?#]*/.exec(rest.slice(authority.length))?.[0] ?? ''
  if (authority.includes('@')) {
    return 'The URL must not have an @ before its host: write the host right after the //, with no user name or password.'
  }
  const host = authority.startsWith('[')
    ? authority.slice(0, authority.indexOf(']') + 1)
    : (authority.split(':')[0] ?? '')
  const hostname = parsed.hostname
  if (host.includes('%')) {
    return `The URL's host must be written without % escapes: write it as ${hostname}.`
  }
  if (!sameHost(host, hostname)) {
    return /^[\d.]+$/.test(hostname)
      ? `The URL's host ${host} is an IPv4 address written another way: write the IPv4 address in dotted decimal, as ${hostname}.`
      : `The URL's host ${host} would be read as ${hostname}: write it as ${hostname}.`
  }
  if (path.split('/').some((segment) => dotSegment.test(segment))) {
    return `The URL's path ${path} has a . or .. segment, which the parser resolves (it would be sent to ${parsed.pathname}): write the path without . or .. segments.`
  }
  if (pathEncoded(path) !== parsed.pathname) {
    return `The URL's path would be read as ${parsed.pathname}: write it as that.`
  }
  return undefined
}
