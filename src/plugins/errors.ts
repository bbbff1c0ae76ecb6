import { STATUS_CODES } from 'node:http'
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'

const wantsJson = (request: FastifyRequest) =>
  request.url.startsWith('/api/') || !(request.headers.accept ?? '').includes('text/html')

/** An error as JSON `{statusCode, error, message}` for programs, or as a page for browsers. */
export function sendError(
  request: FastifyRequest,
  reply: FastifyReply,
  statusCode: number,
  message: string,
) {
  reply.code(statusCode)
  if (wantsJson(request)) {
    return reply.send({ statusCode, error: STATUS_CODES[statusCode] ?? 'Error', message })
  }
  return reply.view('error.eta', {
    statusCode,
    title: STATUS_CODES[statusCode] ?? 'Error',
    message,
  })
}

/**
 * Client mistakes keep their message; anything else is logged with its stack and answered
 * with a plain sentence, so no internal detail ever reaches a client.
 */
export default fp(
  async (app) => {
    app.setErrorHandler((err: FastifyError, request, reply) => {
      const status =
        err.statusCode && err.statusCode >= 400 && err.statusCode < 600 ? err.statusCode : 500
      if (status >= 500) {
        request.log.error({ err }, 'request failed')
        return sendError(
          request,
          reply,
          status,
          'Something went wrong on our side. Please try again shortly.',
        )
      }
      return sendError(request, reply, status, err.message)
    })
    app.setNotFoundHandler((request, reply) =>
      sendError(
        request,
        reply,
        404,
        `There is nothing at ${request.method} ${request.url.split('?')[0]}.`,
      ),
    )
  },
  { name: 'errors' },
)
