import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { ErrorResponse } from '../orders/schemas.ts'
import { refuseValue, sendError } from '../plugins/errors.ts'
import { addStaffMember, changeStaff, listStaff, staffDetails, staffSummary } from './accounts.ts'
import { setMemberPassword } from './password-change.ts'
import {
  adminApi,
  MemberPasswordBody,
  NewStaffBody,
  NewStaffToken,
  StaffAccount,
  StaffAccountWithTokens,
  StaffIdParams,
  StaffPatch,
  StaffToken,
  StaffTokenParams,
  unknownMember,
  unknownToken,
} from './schemas.ts'
import { createToken, revokeToken } from './tokens.ts'

const admin = { access: 'admin' as const }

/**
 * The admin role's staff accounts as JSON (issue 15): list, add, read one with its tokens,
 * change role or disable, set a new password, create a token (its value in that answer only) and
 * revoke one. Admins only (`config.access: 'admin'`; bearer token, enforced by access.ts:
 * 401/403). No answer holds a password, a password hash, a token's hash, or a token but the one
 * just created; log lines hold ids only.
 */
const staffAdminRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.get(
    '/api/admin/staff',
    {
      schema: {
        ...adminApi,
        summary: 'Every staff account, by e-mail',
        response: { 200: Type.Array(StaffAccount) },
      },
      config: admin,
    },
    () => listStaff(app.db),
  )

  app.post(
    '/api/admin/staff',
    {
      schema: {
        ...adminApi,
        summary: 'Add a staff account',
        description:
          'The e-mail is in ASCII, as an order’s customer e-mail (an internationalised domain in its xn-- form), and unique in any case (409 when taken); the password is 15 to 1024 characters without a control character, as for `npm run staff -- add` (400 otherwise), and only its argon2id hash is kept. 201 with the account and `Location`.',
        body: NewStaffBody,
        response: {
          201: {
            ...StaffAccount,
            headers: {
              location: {
                type: 'string',
                description: "The account's address: /api/admin/staff/{id}",
              },
            },
          },
          400: ErrorResponse,

          409: ErrorResponse,
        },
      },
      config: admin,
    },
    async (request, reply) => {
      const outcome = await addStaffMember(app.db, request.body, app.shopWords)
      if (outcome.kind === 'invalid') {
        return refuseValue(request, reply, { pointer: `/${outcome.field}` }, outcome.message)
      }
      if (outcome.kind === 'taken') return sendError(request, reply, 409, outcome.message)
      const { member } = outcome
      request.log.info({ staffId: request.staff?.id, memberId: member.id }, 'staff account added')
      return reply.code(201).header('location', `/api/admin/staff/${member.id}`).send(member)
    },
  )

  app.get(
    '/api/admin/staff/:id',
    {
      schema: {
        ...adminApi,
        summary: 'A staff account with its API tokens (never their values)',
        params: StaffIdParams,
        response: {
          200: StaffAccountWithTokens,
          400: ErrorResponse,

          404: ErrorResponse,
        },
      },
      config: admin,
    },
    async (request, reply) => {
      const id = Number(request.params.id)
      const member = await staffDetails(app.db, id)
      return member ?? sendError(request, reply, 404, unknownMember(id))
    },
  )

  app.patch(
    '/api/admin/staff/:id',
    {
      schema: {
        ...adminApi,
        summary: "Change a staff account's role, disable it or enable it again",
        description:
          '`disabled: true` deletes its sessions and revokes its tokens in the same transaction: each is refused from its next request, on every instance. Enabling it again brings no token back. 409 when an admin would demote or disable themself, or when the account is the last enabled admin.',
        params: StaffIdParams,
        body: StaffPatch,
        response: {
          200: StaffAccount,
          400: ErrorResponse,

          404: ErrorResponse,
          409: ErrorResponse,
        },
      },
      config: admin,
    },
    async (request, reply) => {
      const id = Number(request.params.id)
      const { role, disabled } = request.body
      if (role === undefined && disabled === undefined) {
        return refuseValue(request, reply, { pointer: '' }, 'body: send role, disabled or both.')
      }
      const outcome = await changeStaff(
        app.db,
        { id },
        { role, disabled },
        {
          actorId: request.staff?.id,
        },
      )
      if (outcome.kind === 'not-found') return sendError(request, reply, 404, unknownMember(id))
      if (outcome.kind !== 'changed') return sendError(request, reply, 409, outcome.message)
      request.log.info(
        { staffId: request.staff?.id, memberId: id, role, disabled },
        'staff account changed',
      )
      return staffSummary(app.db, id)
    },
  )

  app.put(
    '/api/admin/staff/:id/password',
    {
      schema: {
        ...adminApi,
        summary: "Set a staff account's password",
        description:
          'The new password is 15 to 1024 characters without a control character, as for `npm run staff -- password` (400 otherwise), and only its argon2id hash is kept. On 204 every session of the account has ended in the same transaction (the member signs in again with the new password); its API tokens keep working, and a disabled account stays disabled. 409 for your own account: change it with `PUT /api/admin/me/password`, which asks for the current one.',
        params: StaffIdParams,
        body: MemberPasswordBody,
        response: { 204: Type.Null(), 400: ErrorResponse, 404: ErrorResponse, 409: ErrorResponse },
      },
      config: admin,
    },
    async (request, reply) => {
      const id = Number(request.params.id)
      const outcome = await setMemberPassword(app.db, id, request.body.password, {
        actorId: request.staff?.id,
        shop: app.shopWords,
      })
      if (outcome.kind === 'invalid') {
        return refuseValue(request, reply, { pointer: '/password' }, outcome.message)
      }
      if (outcome.kind === 'not-found') return sendError(request, reply, 404, unknownMember(id))
      if (outcome.kind === 'self') return sendError(request, reply, 409, outcome.message)
      request.log.info({ staffId: request.staff?.id, memberId: id }, 'staff password reset')
      return reply.code(204).send(null)
    },
  )

  app.post(
    '/api/admin/staff/:id/tokens',
    {
      schema: {
        ...adminApi,
        summary: 'Create an API token for a staff account (its value in this answer only)',
        description:
          'The token is 32 random bytes; only its SHA-256 is stored, so it cannot be shown again. 409 when the account is disabled.',
        params: StaffIdParams,
        response: {
          201: NewStaffToken,
          400: ErrorResponse,

          404: ErrorResponse,
          409: ErrorResponse,
        },
      },
      config: admin,
    },
    async (request, reply) => {
      const id = Number(request.params.id)
      const outcome = await createToken(app.db, { id })
      if (outcome.kind === 'not-found') return sendError(request, reply, 404, unknownMember(id))
      if (outcome.kind === 'disabled') return sendError(request, reply, 409, outcome.message)
      request.log.info(
        { staffId: request.staff?.id, memberId: id, tokenId: outcome.summary.id },
        'staff token created',
      )
      return reply.code(201).send({ ...outcome.summary, token: outcome.token })
    },
  )

  app.delete(
    '/api/admin/staff/:id/tokens/:tokenId',
    {
      schema: {
        ...adminApi,
        summary: 'Revoke an API token',
        description:
          'Sets `revokedAt` (kept when revoked already): the token is refused (401) from its next request on, on every instance. The account and its other tokens are untouched.',
        params: StaffTokenParams,
        response: { 200: StaffToken, 400: ErrorResponse, 404: ErrorResponse },
      },
      config: admin,
    },
    async (request, reply) => {
      const id = Number(request.params.id)
      const tokenId = Number(request.params.tokenId)
      const token = await revokeToken(app.db, tokenId, id)
      if (!token) return sendError(request, reply, 404, unknownToken(id, tokenId))
      request.log.info({ staffId: request.staff?.id, memberId: id, tokenId }, 'staff token revoked')
      const { staffId: _, ...shown } = token
      return shown
    },
  )
}

export default staffAdminRoutes
