import type { FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import { sendError } from './errors.ts'
import { asteriskAnswer } from './request-target.ts'

/**
 * What is wrong with a request's Host, or undefined: RFC 9112 §3.2 has a server answer 400 to
 * a request with more than one Host line, and to an HTTP/1.1 request with none (HTTP/1.0 may
 * leave it out). Node keeps the first of several Host lines in `headers` and drops the rest, so
 * they are counted in `rawHeaders` (name, value, name, value, …), and one line holding a list
 * counts as several: a loop over the dozen-odd
 * names a request carries, comparing lengths before case, on every request.
 */
export function hostProblem(request: FastifyRequest): string | undefined {
  const raw = request.raw.rawHeaders
  let hosts = 0
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i] as string
    if (name.length === 4 && name.toLowerCase() === 'host') hosts++
  }
  // Two hosts in one line (`Host: a, b`, as an intermediary that merges repeated lines writes
  // them) are two Hosts too: a host name or address never holds a comma.
  if (hosts > 1 || (hosts === 1 && request.headers.host?.includes(',')))
    return 'The request has more than one Host header: send it once.'
  if (hosts === 0 && request.raw.httpVersion === '1.1')
    return 'The request has no Host header: HTTP/1.1 requests name the host they are for.'
  return undefined
}

/**
 * Refuses a request with two Host headers, or an HTTP/1.1 one without Host, with a 400 that says
 * so (a page, JSON or problem details as any error), before anything else reads it. Node would
 * answer the missing Host itself, a 400 with no body and none of the service's headers: app.ts
 * turns that off (`requireHostHeader: false`) so this hook answers it instead. The asterisk-form
 * target gets its answer here too (asteriskAnswer).
 */
export default fp(
  async (app) => {
    app.addHook('onRequest', (request, reply, done) => {
      const asterisk = asteriskAnswer(request.method, request.raw.url)
      if (asterisk) return sendError(request, reply, ...asterisk)
      const problem = hostProblem(request)
      if (problem === undefined) return done()
      // As Node's own 400 does: a client this unsure where its requests go should start afresh.
      reply.header('connection', 'close')
      sendError(request, reply, 400, problem)
    })
  },
  { name: 'host-header' },
)
