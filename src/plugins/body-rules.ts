import type { FastifyRequest, RouteOptions } from 'fastify'

/** A body refused before any route sees it: a 4xx whose message says why. */
export class BodyError extends Error {
  readonly statusCode: 400 | 415
  readonly code: string

  constructor(statusCode: 400 | 415, code: string, message: string) {
    super(message)
    this.name = 'BodyError'
    this.statusCode = statusCode
    this.code = code
  }
}

/**
 * Whether the route takes forms only: every route outside /api is a page's form (docs/api.md,
 * "Bodies"), so JSON there is 415 like any other type, not a second way in. An unknown path
 * takes anything (its answer is 404).
 */
export const formsOnly = (request: FastifyRequest) =>
  !request.is404 && !request.url.startsWith('/api/')

/**
 * Whether the route reads JSON only: every route of the API (`/api/…`, by the matched route's
 * template), which no page posts to (the order form posts to /orders, the back office's forms
 * to /admin/…) and whose schemas want numbers, booleans, lists and objects that a form's flat
 * string fields cannot spell (an order's `items`), so a form there could only ever be refused
 * as invalid. An unknown path is neither (its answer is 404).
 */
export const jsonOnly = (request: FastifyRequest) =>
  request.routeOptions.url?.startsWith('/api/') === true

const mediaType = /^[a-z0-9!#$&^_.+-]{1,40}\/[a-z0-9!#$&^_.+-]{1,40}$/

/**
 * Why a body of a type the route does not read is refused (415), naming the type when it is one
 * and what to send instead: a form outside /api, JSON under /api.
 */
export function unsupportedMediaType(request: FastifyRequest): string {
  const type = (request.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase() ?? ''
  const sent = mediaType.test(type) ? `A body of type ${type}` : 'A body without a readable type'
  const wanted = formsOnly(request)
    ? 'send a form (application/x-www-form-urlencoded)'
    : 'send JSON (application/json)'
  return `${sent} cannot be read here: ${wanted}.`
}

const bodyRefused = new BodyError(
  400,
  'BODY_NOT_TAKEN',
  'This request takes no body: send it without one (an empty body or {} is fine).',
)

/**
 * A preValidation hook for a route that reads no body (rotate a secret, redeliver, make a
 * token, delete): a body with something in it (JSON `null` included) is refused 400, never
 * silently ignored (a client that sent fields believes they did something). No body, an empty
 * one of any type, and `{}` pass. Attached by routeTakesNoBody.
 */
export async function refuseBody(request: FastifyRequest): Promise<void> {
  const body = request.body
  // JSON's `null` is not "no body": parseJson gives undefined for an empty one.
  if (body === undefined) return
  if (
    typeof body === 'object' &&
    body !== null &&
    !Array.isArray(body) &&
    Object.keys(body).length === 0
  )
    return
  throw bodyRefused
}

/** Attaches refuseBody to an unsafe-method route whose schema declares no body. */
export function routeTakesNoBody(route: RouteOptions): void {
  const methods = [route.method].flat()
  if (route.schema?.body || methods.every((m) => m === 'GET' || m === 'HEAD')) return
  route.preValidation = [refuseBody, ...[route.preValidation ?? []].flat()]
}
