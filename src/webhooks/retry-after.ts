/**
 * Reading a receiver's `Retry-After` (RFC 9110, section 10.2.3): how long it asks us to wait
 * before the next request, given as delay-seconds or as an HTTP-date. The dispatcher reads it on
 * a 429 (RFC 6585, section 4) or a 503 answer (deliver.ts) and waits at least that long before
 * trying the delivery again, within the retry window (outcomes.ts says how it is bounded).
 */

/** The statuses whose `Retry-After` is read: Too Many Requests and Service Unavailable. */
export const retryAfterStatuses: ReadonlySet<number> = new Set([429, 503])

const months = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec']
const mon = `(?<mon>${months.join('|')})`
const time = '(?<h>\\d\\d):(?<m>\\d\\d):(?<s>\\d\\d)'
const day3 = '(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)'
// The three forms of RFC 9110, section 5.6.7, all of which a recipient MUST accept; HTTP-date is
// case sensitive. The day name is not checked against the date (nothing rests on it).
const httpDates = [
  // IMF-fixdate: `Sun, 06 Nov 1994 08:49:37 GMT`.
  new RegExp(`^${day3}, (?<day>\\d\\d) ${mon} (?<year>\\d{4}) ${time} GMT$`),
  // rfc850-date (obsolete): `Sunday, 06-Nov-94 08:49:37 GMT`.
  new RegExp(
    `^(?:Mon|Tues|Wednes|Thurs|Fri|Satur|Sun)day, (?<day>\\d\\d)-${mon}-(?<yy>\\d\\d) ${time} GMT$`,
  ),
  // asctime-date (obsolete): `Sun Nov  6 08:49:37 1994`, the day padded with a space; UTC.
  new RegExp(`^${day3} ${mon} (?<day>[ \\d]\\d) ${time} (?<year>\\d{4})$`),
]

/**
 * The instant (milliseconds since the epoch) an HTTP-date names, or undefined when `value` is
 * none of its three forms or names no real time (`31 Feb`, hour 24). A two-digit rfc850 year is
 * read in the century that puts it at most 50 years after `nowMs` (RFC 9110: a year that would
 * be more than 50 years ahead is the latest past year with those digits). A leap second (`:60`)
 * is read as the next minute's start.
 */
export function parseHttpDate(value: string, nowMs: number): number | undefined {
  const g = httpDates.map((re) => re.exec(value)?.groups).find((groups) => groups !== undefined)
  if (!g) return undefined
  let year = Number(g.year)
  if (g.yy !== undefined) {
    const thisYear = new Date(nowMs).getUTCFullYear()
    year = thisYear - (thisYear % 100) + Number(g.yy)
    if (year > thisYear + 50) year -= 100
  }
  const [day, hour, minute, second] = [Number(g.day), Number(g.h), Number(g.m), Number(g.s)]
  const month = months.indexOf(g.mon as string)
  if (hour > 23 || minute > 59 || second > 60) return undefined
  const at = Date.UTC(year, month, day, hour, minute, second)
  // Date.UTC rolls 31 Feb over into March: a day its month does not have names no time.
  const named = new Date(Date.UTC(year, month, day))
  return named.getUTCMonth() === month && named.getUTCDate() === day ? at : undefined
}

/**
 * How long a `Retry-After` value asks to wait, in milliseconds from `nowMs` (when the answer
 * came): delay-seconds (`120`, any number of digits, read as a number: `Infinity` past what a
 * double holds) or an HTTP-date (parseHttpDate; one already past asks for no wait, 0).
 * Undefined when the header is missing, empty or neither form (`-5`, `1.5`, `soon`, a date in
 * another format): the caller then keeps its own backoff. No bound here: the caller bounds it
 * (outcomes.ts, by the retry window).
 */
export function retryAfterMs(value: string | undefined, nowMs: number): number | undefined {
  if (value === undefined) return undefined
  if (/^\d+$/.test(value)) return Number(value) * 1000
  const at = parseHttpDate(value, nowMs)
  return at === undefined ? undefined : Math.max(0, at - nowMs)
}
