import fp from 'fastify-plugin'

/**
 * `Expect: 100-continue` (RFC 9110 §10.1.1): a client asks before sending its body. Node answers
 * every such request 100 Continue by itself, so a client announcing a body over the limit was
 * told to send it all and got 413 only after. Here a request whose Content-Length is already
 * over the body limit gets no 100: Fastify answers it 413 as any other, and the body is never
 * sent. Any other goes on as before (100, then the request).
 *
 * Any other expectation (`Expect: bogus`, or an empty `Expect:`) Node answered itself with a bare
 * 417: no body, no Content-Type, not even on `GET /`. The RFC leaves that a MAY; the service has
 * no other expectation to meet or to refuse, so the request is served as if the field were not
 * there, with the answer its route gives (and the document describes).
 */
export default fp(
  async (app) => {
    const limit = app.initialConfig.bodyLimit ?? 1024 * 1024
    // With a listener, Node no longer writes the 100 itself, nor emits 'request' for these.
    app.server.on('checkContinue', (request, response) => {
      if (!(Number(request.headers['content-length']) > limit)) response.writeContinue()
      app.server.emit('request', request, response)
    })
    // With a listener, Node no longer answers 417 itself, nor emits 'request' for these.
    app.server.on('checkExpectation', (request, response) => {
      app.server.emit('request', request, response)
    })
  },
  { name: 'expect-continue' },
)
