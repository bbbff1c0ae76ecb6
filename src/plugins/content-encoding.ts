import fp from 'fastify-plugin'
import { BodyError } from './body-parsers.ts'

// A list (RFC 9110 §5.6.1, empty elements allowed) of nothing but `identity` (any case), the
// absence of a coding (§8.4.1): blank, `identity`, `identity, identity`, `,`.
const identity = /^[\s,]*(?:identity[\s,]*)*$/i

/**
 * Request bodies are read as sent, never decompressed: one with a Content-Encoding other than
 * identity (gzip, br, a list) is refused 415 before any parser reads it (it was a 400 "not valid
 * UTF-8"), with `Accept-Encoding: identity` saying what is taken (RFC 9110 §15.5.16, §12.5.3).
 * A request without the header (nearly all) costs one header read. A request without a body
 * (no Content-Length above 0, no Transfer-Encoding) is let be: there is nothing coded to read;
 * so is a GET or HEAD, whose body Fastify never reads (its OpenAPI operation lists no 415).
 */
export default fp(
  async (app) => {
    app.addHook('preParsing', (request, reply, payload, done) => {
      const coding = request.headers['content-encoding']
      if (coding === undefined || identity.test(coding)) return done(null, payload)
      if (request.method === 'GET' || request.method === 'HEAD') return done(null, payload)
      const { 'content-length': length, 'transfer-encoding': chunked } = request.headers
      if (chunked === undefined && (length === undefined || length === '0'))
        return done(null, payload)
      reply.header('accept-encoding', 'identity')
      done(
        new BodyError(
          415,
          'BODY_CONTENT_ENCODING',
          `Content-Encoding ${coding} is not accepted: send the body uncompressed, without Content-Encoding.`,
        ),
      )
    })
  },
  { name: 'content-encoding' },
)
