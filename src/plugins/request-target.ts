/**
 * The answer to a request target starting with `*`, which the router would take for `/` (`*`) or
 * refuse as an address whose % escapes do not decode (`*x`), or undefined for any other target.
 * RFC 9112 §3.2.4 keeps `*` alone for a server-wide OPTIONS, which this service does not answer:
 * 501, as for a method it supports on no resource (RFC 9110 §15.6.2); anything else is a 400.
 */
export function asteriskAnswer(
  method: string,
  target: string | undefined,
): [400 | 501, string] | undefined {
  if (target?.charCodeAt(0) !== 0x2a) return undefined
  if (target === '*' && method === 'OPTIONS')
    return [501, 'This service does not answer OPTIONS *: a 405 from an address lists its methods.']
  return [400, 'A request target is a path such as /; * alone is for OPTIONS only.']
}
