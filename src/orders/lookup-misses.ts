import type { FastifyReply, FastifyRequest } from 'fastify'
import ipaddr from 'ipaddr.js'
import { sendError } from '../plugins/errors.ts'
import { tooManyMessage } from '../plugins/security.ts'

/** Addresses (or IPv6 /64s) counted at once; past it the oldest window is forgotten first. */
const capacity = 10_000

/** One client's count of misses in its current window. */
interface Window {
  misses: number
  /** When the window ends (ms since the epoch). */
  endsAt: number
}

/**
 * The address a client's misses are counted under: `request.ip` (the client's own behind
 * TRUST_PROXY), an IPv4 address as it is (also one Node shows IPv4-mapped, `::ffff:1.2.3.4`),
 * an IPv6 address by its /64, the block one subscriber is handed (RFC 6177): else a client with
 * a /64 would have 2^64 budgets.
 */
function clientKey(request: FastifyRequest): string {
  const ip = request.ip
  if (!ip.includes(':') || !ipaddr.IPv6.isValid(ip)) return ip
  const address = ipaddr.IPv6.parse(ip)
  if (address.isIPv4MappedAddress()) return address.toIPv4Address().toString()
  return `${address.parts
    .slice(0, 4)
    .map((part) => part.toString(16))
    .join(':')}::/64`
}

/** What the order lookups ask of the count (orders/plugin.ts decorates the app with one). */
export interface LookupMisses {
  /** Misses a client may make in a window before 429 (LOOKUP_MISS_MAX); 0 when switched off. */
  readonly max: number
  /**
   * Whether `request`'s client is past `max` misses in its window, so that refuse would answer
   * 429. While no client has missed in the last window it reads nothing of the request.
   */
  limited(request: FastifyRequest): boolean
  /**
   * Refuses a client past `max` misses in its window: sends a 429 with Retry-After and a
   * sentence (problem details under /api, the error page elsewhere) and returns the reply;
   * else undefined, and the lookup goes on. While no client has missed in the last window it
   * reads nothing of the request and returns at once: the hit path of a shop not being guessed.
   */
  refuse(
    request: FastifyRequest,
    reply: FastifyReply,
  ): FastifyReply | Promise<FastifyReply> | undefined
  /** Counts one lookup of `request`'s client that found no order (a 404). */
  miss(request: FastifyRequest): void
  /** Clients with a window open: what a test reads. */
  readonly size: number
}

/**
 * Order lookups that found nothing, counted per client address in fixed windows of `windowMs`
 * (a minute), in this process: lookups of made-up numbers are what guessing is, and a shopper's
 * own lookups hit, so only misses are counted and a hit costs one check of an empty map. Kept in
 * a Map in the order the windows opened (a window that ends and opens again is put last), so
 * the ones ended are dropped from its front, and at `capacity` the oldest goes: a bounded
 * structure, whatever the number of addresses.
 *
 * @param max misses allowed a client per window; the next lookup gets 429 until it ends
 * @param now the clock (ms since the epoch), for tests
 */
export function lookupMisses(
  max: number,
  windowMs = 60_000,
  now: () => number = Date.now,
): LookupMisses {
  const windows = new Map<string, Window>()
  /** Drops the windows that have ended from the front (the oldest). */
  const prune = (at: number) => {
    for (const [key, window] of windows) {
      if (window.endsAt > at) return
      windows.delete(key)
    }
  }
  /** The client's window if it is past `max` misses, else undefined. */
  const spent = (request: FastifyRequest): Window | undefined => {
    if (windows.size === 0) return undefined
    prune(now())
    const window = windows.get(clientKey(request))
    return window === undefined || window.misses < max ? undefined : window
  }
  return {
    max,
    limited: (request) => spent(request) !== undefined,
    refuse(request, reply) {
      const window = spent(request)
      if (window === undefined) return undefined
      const waitMs = window.endsAt - now()
      reply.header('retry-after', String(Math.max(1, Math.ceil(waitMs / 1000))))
      return sendError(request, reply, 429, tooManyMessage('unknown order numbers', max, waitMs))
    },
    miss(request) {
      const at = now()
      const key = clientKey(request)
      const window = windows.get(key)
      if (window !== undefined && window.endsAt > at) {
        window.misses++
        return
      }
      windows.delete(key)
      prune(at)
      if (windows.size >= capacity) windows.delete(windows.keys().next().value as string)
      windows.set(key, { misses: 1, endsAt: at + windowMs })
    },
    get size() {
      return windows.size
    },
  }
}

/** The count switched off (LOOKUP_MISS_MAX or RATE_LIMIT_MAX 0): nothing refused, nothing kept. */
export const noLookupLimit: LookupMisses = {
  max: 0,
  limited: () => false,
  refuse: () => undefined,
  miss: () => {},
  size: 0,
}
