import type { FastifyReply, FastifyRequest, RouteOptions } from 'fastify'
import { Type } from 'typebox'
import { sendError } from './plugins/errors.ts'

/** The largest id each kind of id column holds (PostgreSQL's integer and bigint). */
const columnMax = { int4: 2_147_483_647n, int8: 9_223_372_036_854_775_807n } as const

interface IdOptions {
  /** What the id names, as a 404 says it: `staff account`, `webhook endpoint`. */
  what: string
  /** The column's type, which bounds the ids that can exist. */
  column: keyof typeof columnMax
  /**
   * The path parameter this id is looked up under, and what that names (a staff account's
   * token: `{ param: 'id', what: 'staff account' }`): the 404 names both (noRow).
   */
  of?: { param: string; what: string }
}

/**
 * The 404's sentence for an id with no row, the route's own and refuseIdsOutOfRange's alike:
 * `There is no webhook endpoint 7.`; under its owner (`of`), `Staff account 12 has no token 99.`
 */
export function noRow(
  { what, of }: Pick<IdOptions, 'what' | 'of'>,
  id: string | number,
  ownerId?: string | number,
): string {
  if (!of) return `There is no ${what} ${id}.`
  return `${of.what[0]?.toUpperCase()}${of.what.slice(1)} ${ownerId} has no ${what} ${id}.`
}

/**
 * A path parameter that is a row's id, the one definition every id route uses: any whole
 * number in decimal digits is well formed (else 400 "must be a … id: a whole number in digits");
 * one past the column's range names no row that can exist, so it is a 404 like any id with no
 * row (refuseIdsOutOfRange), never a 400 for some lengths and a 404 for others. The path's
 * length is bounded by Fastify's maxParamLength (414 past it).
 */
export function IdParam(options: IdOptions) {
  return Type.String({
    pattern: '^[0-9]+$',
    errorMessage: `must be a ${options.what} id: a whole number in digits`,
    'x-id': options,
  })
}

/** The id parameters of a route's params schema, by name; none: empty. */
function idParams(schema: unknown): [string, IdOptions][] {
  const properties = (schema as { properties?: Record<string, { 'x-id'?: IdOptions }> })?.properties
  return Object.entries(properties ?? {}).flatMap(([name, p]) =>
    p['x-id'] ? [[name, p['x-id']] as [string, IdOptions]] : [],
  )
}

/**
 * Attaches refuseIdsOutOfRange to a route whose params hold an IdParam (after its schema has
 * checked the digits: preHandler); other routes get nothing, so they pay nothing.
 */
export function guardIds(route: RouteOptions): void {
  const ids = idParams(route.schema?.params)
  if (ids.length === 0) return
  const own = route.preHandler === undefined ? [] : [route.preHandler].flat()
  route.preHandler = [
    async (request: FastifyRequest, reply: FastifyReply) => {
      const params = request.params as Record<string, string>
      for (const [name, options] of ids) {
        const digits = params[name] ?? ''
        if (/^[0-9]+$/.test(digits) && BigInt(digits) > columnMax[options.column]) {
          const owner = options.of && params[options.of.param]
          return sendError(request, reply, 404, noRow(options, digits, owner))
        }
      }
    },
    ...own,
  ]
}
