/**
 * Reading `Accept` (RFC 9110 §12.5.1) for the one choice the service makes by it: an error off
 * /api as the HTML page or as JSON (errors.ts, sendError).
 */

/** One media range of an Accept header: `type/subtype` (lower case, `*` allowed) and its q. */
interface MediaRange {
  type: string
  subtype: string
  q: number
}

const rangePattern = /^([a-z0-9!#$%&'*+.^_`|~-]+)\/([a-z0-9!#$%&'*+.^_`|~-]+)$/
const qPattern = /^q=(0(\.\d{0,3})?|1(\.0{0,3})?)$/

/** The media ranges of `accept`; a part that is not one (`text`, `*`) is left out. */
function mediaRanges(accept: string): MediaRange[] {
  const ranges: MediaRange[] = []
  for (const part of accept.toLowerCase().split(',')) {
    const [range = '', ...params] = part.split(';').map((p) => p.trim())
    const match = rangePattern.exec(range)
    if (!match) continue
    const qParam = params.map((p) => p.replace(/\s+/g, '')).find((p) => p.startsWith('q='))
    const q = qParam && qPattern.test(qParam) ? Number(qParam.slice(2)) : 1
    ranges.push({ type: match[1] as string, subtype: match[2] as string, q })
  }
  return ranges
}

/**
 * The quality `ranges` give `type/subtype`: that of the most specific range that matches it
 * (`text/html` before `text/*` before the range of every type, RFC 9110 §12.5.1), 0 when none
 * does.
 */
function quality(ranges: MediaRange[], type: string, subtype: string): number {
  let best = { specificity: -1, q: 0 }
  for (const range of ranges) {
    const specificity =
      range.type === type && range.subtype === subtype
        ? 2
        : range.type === type && range.subtype === '*'
          ? 1
          : range.type === '*' && range.subtype === '*'
            ? 0
            : -1
    if (specificity > best.specificity) best = { specificity, q: range.q }
  }
  return best.q
}

/**
 * Whether a client's `Accept` ranks `application/json` above `text/html`: a program that asks
 * for JSON (`application/json`, or `application/json, text/html;q=0.5`). No Accept, any type
 * (curl's), a browser's, both at one quality, or neither: false, the page.
 */
export function prefersJson(accept: string | undefined): boolean {
  if (!accept) return false
  const ranges = mediaRanges(accept)
  return quality(ranges, 'application', 'json') > quality(ranges, 'text', 'html')
}
