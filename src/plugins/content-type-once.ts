import fp from 'fastify-plugin'
import { BodyError } from './body-rules.ts'
import { givenTwice } from './header-lines.ts'

/**
 * A body whose Content-Type came twice is refused 400 before any parser reads it: Node keeps
 * the first line and drops the rest, so `application/json` then `text/plain` was read as JSON,
 * though the two disagree. A request without a body, or a GET/HEAD, is let be.
 */
export default fp(
  async (app) => {
    app.addHook('preParsing', (request, _reply, payload, done) => {
      if (request.method === 'GET' || request.method === 'HEAD') return done(null, payload)
      const { 'content-length': length, 'transfer-encoding': chunked } = request.headers
      if (chunked === undefined && (length === undefined || length === '0'))
        return done(null, payload)
      // It is no list (RFC 9110 §5.3, §8.3).
      if (!givenTwice(request, 'content-type')) return done(null, payload)
      done(
        new BodyError(400, 'BODY_CONTENT_TYPE_TWICE', 'Content-Type is given twice: send it once.'),
      )
    })
  },
  { name: 'content-type-once' },
)
