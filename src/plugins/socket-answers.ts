/** Answers written to the socket itself, where no request reaches Fastify: parser refusals, CONNECT. */
import { randomUUID } from 'node:crypto'
import { type IncomingMessage, maxHeaderSize, type ServerResponse, STATUS_CODES } from 'node:http'
import type { Socket } from 'node:net'
import type { Duplex } from 'node:stream'
import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import { securityHeaders } from './security.ts'

/** What Node's HTTP parser refuses, as `[status, sentence]`; undefined: nothing to answer. */
function clientErrorAnswer(err: NodeJS.ErrnoException): [number, string] | undefined {
  if (err.code === 'ECONNRESET') return undefined
  if (err.code === 'HPE_HEADER_OVERFLOW') {
    return [
      431,
      `The request's address and headers are too large: this service accepts at most ${Math.floor(maxHeaderSize / 1024)} KiB of them.`,
    ]
  }
  if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT')
    return [408, 'The request took too long to arrive. Please send it again.']
  return [400, 'The request could not be read: it is not valid HTTP/1.1.']
}

/**
 * Fastify's `clientErrorHandler`, for what Node's HTTP parser refuses before Fastify sees a
 * request (a malformed request line or header, headers over maxHeaderSize, a request that took
 * longer than headersTimeout). No request exists, so no hook runs and the Accept header may be
 * unreadable: the answer is always JSON `{statusCode, error, message}` with the security
 * headers and a fresh X-Request-Id, written straight to the socket, which is then closed; the
 * log gets one line with that id, the status and the parser's error code.
 */
export function clientError(this: FastifyInstance, err: NodeJS.ErrnoException, socket: Socket) {
  const answer = socket.destroyed ? undefined : clientErrorAnswer(err)
  if (!answer) {
    socket.destroy()
    return
  }
  const [statusCode, message] = answer
  const reqId = answerOnSocket(socket, statusCode, message)
  this.log.info({ reqId, route: '(none)', statusCode, err }, 'request refused by the HTTP parser')
}

/**
 * Answers on `socket` outside Fastify (no request object exists): JSON `{statusCode, error,
 * message}` with the security headers and a fresh X-Request-Id, which it returns; then closes.
 */
function answerOnSocket(socket: Socket, statusCode: number, message: string): string {
  const reqId = randomUUID()
  const error = STATUS_CODES[statusCode] ?? 'Error'
  const body = JSON.stringify({ statusCode, error, message })
  const headers: Record<string, string | number> = {
    ...securityHeaders(),
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(body),
    'x-request-id': reqId,
    connection: 'close',
  }
  const head = Object.entries(headers)
    .map(([name, value]) => `${name}: ${value}`)
    .join('\r\n')
  if (socket.writable) socket.end(`HTTP/1.1 ${statusCode} ${error}\r\n${head}\r\n\r\n${body}`)
  socket.destroySoon()
  return reqId
}

/**
 * Calls `then` once every answer Node owes on `socket` has been sent: requests pipelined before a
 * CONNECT are answered first, in order, and only then is the socket ended. Node keeps the
 * response being written or awaited as the socket's `_httpMessage` and hands the next queued one
 * to the socket when it finishes (node:_http_server, an internal kept since Node 0.x); without it
 * `then` runs at once, as it does for a CONNECT that came first.
 */
function afterOwedAnswers(socket: Socket, then: () => void): void {
  const owed = (socket as Socket & { _httpMessage?: ServerResponse | null })._httpMessage
  if (!owed || socket.destroyed) then()
  else owed.once('close', () => afterOwedAnswers(socket, then))
}

/**
 * Node hands a CONNECT (a proxy's tunnel, RFC 9110 §9.3.6) to 'connect' listeners only and, with
 * none, closes the socket unanswered. This service is no proxy: 501, as for a method it supports
 * on no resource (RFC 9110 §15.6.2), with the security headers and a log line, after the answers
 * to what came before it on the connection.
 */
export default fp(
  async (app) => {
    app.server.on('connect', (request: IncomingMessage, duplex: Duplex) => {
      const socket = duplex as Socket // a net.Socket: typed as the Duplex an upgrade could be too
      afterOwedAnswers(socket, () => {
        const statusCode = 501
        const reqId = answerOnSocket(
          socket,
          statusCode,
          'This service is not a proxy: it does not support CONNECT.',
        )
        app.log.info(
          { reqId, method: request.method, url: request.url, route: '(none)', statusCode },
          'request refused: CONNECT',
        )
      })
    })
  },
  { name: 'socket-answers' },
)
