/**
 * An order's ETag is its version as a strong entity tag: `"3"` (RFC 9110 §8.8.3). Strong,
 * because If-Match compares entity tags with the strong comparison (§13.1.1), under which a
 * weak tag (`W/"3"`) never matches. The version grows with every status change, and nothing
 * else of what GET /api/admin/orders/:n answers changes without one.
 */
export const etagOf = (version: number) => `"${version}"`

/**
 * The versions an If-Match header names (RFC 9110 §13.1.1: `#entity-tag` or `*`):
 * - `undefined` when there is no precondition to check: no header, a blank one, or `*` (which
 *   only asks that the order exist, so it does not prevent a lost update): answered 428;
 * - otherwise the versions of the strong tags of ours it lists (`"3", "4"` → [3, 4]); weak tags
 *   and tags that are not ours match nothing, so an empty list is answered 412.
 */
export function versionsIn(ifMatch: string | undefined): number[] | undefined {
  const value = ifMatch?.trim()
  if (!value || value === '*') return undefined
  const versions: number[] = []
  for (const tag of value.split(',')) {
    const m = /^"([1-9][0-9]{0,8})"$/.exec(tag.trim())
    if (m) versions.push(Number(m[1]))
  }
  return versions
}
