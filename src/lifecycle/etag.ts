/**
 * An order's ETag is its version as a strong entity tag: `"3"` (RFC 9110 §8.8.3). Strong,
 * because If-Match compares entity tags with the strong comparison (§13.1.1), under which a
 * weak tag (`W/"3"`) never matches. The version grows with every status change, and nothing
 * else of what GET /api/admin/orders/:n answers changes without one.
 */
export const etagOf = (version: number) => `"${version}"`

/**
 * What an If-Match header asks (RFC 9110 §13.1.1: `"*" / #entity-tag`):
 * - `absent`: no precondition to check: no header, or a blank one;
 * - `any`: `*`, which matches any current representation (§13.1.1): true whenever the order or
 *   product exists, so it prevents no lost update. Order transitions answer it 428 as if absent
 *   (their If-Match is required); product changes, where it is optional, run unconditionally;
 * - `malformed`: not that syntax (`junk`, `1`, an unclosed quote, `*` inside a list): answered
 *   400, a bad request rather than a precondition that failed;
 * - `tags`: the versions of the strong tags of ours it lists (`"3", "4"` → [3, 4]); weak tags
 *   and well-formed tags that are not ours match nothing, so an empty list is answered 412.
 *   `weak`: it lists a weak tag, so a 412 can say why that one never matches.
 */
export type IfMatch =
  | { kind: 'absent' }
  | { kind: 'any' }
  | { kind: 'malformed' }
  | { kind: 'tags'; versions: number[]; weak: boolean }

/**
 * One element of the list and the comma or end after it (RFC 9110 §8.8.3 and §5.6.1):
 * `entity-tag = [ "W/" ] DQUOTE *etagc DQUOTE`, etagc = %x21 / %x23-7E / obs-text, with
 * optional whitespace around; an empty element (`"1", , "2"`) is allowed, as §5.6.1 asks.
 */
const listElement = /[ \t]*(?:(W\/)?"([\x21\x23-\x7e\x80-\xff]*)")?[ \t]*(,|$)/y
const ourVersion = /^[1-9][0-9]{0,8}$/

/**
 * The entity tags a list header holds (`"1", W/"2"`), or undefined when it is not that syntax or
 * lists none.
 */
function entityTags(value: string): { weak: boolean; opaque: string }[] | undefined {
  const tags: { weak: boolean; opaque: string }[] = []
  let at = 0
  while (at < value.length) {
    listElement.lastIndex = at
    const m = listElement.exec(value)
    if (!m) return undefined
    at = listElement.lastIndex
    const [, weak, opaque, separator] = m
    if (opaque !== undefined) tags.push({ weak: weak !== undefined, opaque })
    if (separator === '') break
  }
  return tags.length === 0 ? undefined : tags
}

/** Reads an If-Match header (see IfMatch); never throws. */
export function parseIfMatch(header: string | undefined): IfMatch {
  const value = header?.trim() ?? ''
  if (value === '') return { kind: 'absent' }
  if (value === '*') return { kind: 'any' }
  const tags = entityTags(value)
  if (!tags) return { kind: 'malformed' }
  const versions = tags
    .filter((t) => !t.weak && ourVersion.test(t.opaque))
    .map((t) => Number(t.opaque))
  return { kind: 'tags', versions, weak: tags.some((t) => t.weak) }
}

/**
 * What an If-None-Match header asks of a GET (RFC 9110 §13.1.2: `"*" / #entity-tag`): `absent`
 * (no header, or a blank one), `any` (`*`: any current representation, so the order's, since it
 * exists), `malformed` (not that syntax: `4`, an unclosed quote, `*` inside a list; answered 400
 * as a malformed If-Match is), or the opaque parts of the tags it lists, weak or strong: a GET
 * compares them with the weak comparison (§8.8.3.2), where `W/"4"` matches `"4"`.
 */
export type IfNoneMatch =
  | { kind: 'absent' }
  | { kind: 'any' }
  | { kind: 'malformed' }
  | { kind: 'tags'; opaque: string[] }

/** Reads an If-None-Match header (see IfNoneMatch); never throws. */
export function parseIfNoneMatch(header: string | undefined): IfNoneMatch {
  const value = header?.trim() ?? ''
  if (value === '') return { kind: 'absent' }
  if (value === '*') return { kind: 'any' }
  const tags = entityTags(value)
  return tags ? { kind: 'tags', opaque: tags.map((t) => t.opaque) } : { kind: 'malformed' }
}

/** Whether a GET of what is at `version` (its ETag etagOf's) answers 304 Not Modified. */
export const notModified = (condition: IfNoneMatch, version: number): boolean =>
  condition.kind === 'any' ||
  (condition.kind === 'tags' && condition.opaque.includes(String(version)))
