import type { FastifyRequest } from 'fastify'

/**
 * Whether header `name` (lower case) came in more than one field line. Node keeps the first line
 * of a header it does not join (authorization, content-type, host, referer…: its http docs list
 * them) and drops the rest from `headers`, so a second one shows only in `rawHeaders` (name,
 * value, name, value, …): a loop over the request's dozen-odd names, comparing lengths before
 * case. Called only where the header matters (a body's type, an authentication check), not on
 * every request.
 */
export function givenTwice(request: FastifyRequest, name: string): boolean {
  const raw = request.raw.rawHeaders
  let seen = 0
  for (let i = 0; i < raw.length; i += 2) {
    const field = raw[i] as string
    if (field.length === name.length && field.toLowerCase() === name && ++seen > 1) return true
  }
  return false
}
