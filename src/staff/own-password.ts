import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { FastifyReply, FastifyRequest } from 'fastify'
import { Type } from 'typebox'
import { pageQueryWords, showRefusedInput } from '../admin/refused-input.ts'
import { ErrorResponse } from '../orders/schemas.ts'
import { refuseValue, sendError } from '../plugins/errors.ts'
import { changeOwnPassword } from './password-change.ts'
import { passwordRule } from './passwords.ts'
import type { StaffMember } from './queries.ts'
import { adminApi, OwnPasswordBody, OwnPasswordForm, StaffPageQuery } from './schemas.ts'
import { startSession } from './sessions.ts'

const staff = { access: 'staff' as const }
const page = '/admin/password'

/** Where each refusal points in `PUT /api/admin/me/password`'s body. */
const apiField = { current: '/currentPassword', password: '/newPassword', again: '/newPassword' }

/**
 * A signed-in member changes their own password (changeOwnPassword, password-change.ts): the
 * page `/admin/password` (any role; the current password and the new one twice, `_csrf` checked
 * by access.ts) and `PUT /api/admin/me/password` for a token holder. A refusal re-renders the
 * form with the reason (400; 429 with Retry-After over the sign-in throttle), never with what was
 * typed; a change answers 303 to the page (Post/Redirect/Get), which says it was done. Every
 * session of the account ends; the page's own is renewed (a new cookie value and CSRF secret, so
 * a session id anyone held before the change is worth nothing after it). Tokens stay.
 * `production`: the session cookie's name and Secure flag.
 */
const ownPassword: FastifyPluginAsyncTypebox<{ production: boolean }> = async (
  app,
  { production },
) => {
  function render(
    request: FastifyRequest,
    reply: FastifyReply,
    status: number,
    shown: { done?: boolean; error?: { field: string; message: string } } = {},
  ) {
    return reply.code(status).view('admin-password.eta', {
      staff: request.staff,
      csrf: request.staffSession?.csrfSecret,
      ...passwordRule,
      ...shown,
    })
  }

  /** Retry-After on the throttle's 429, page and API alike. */
  const retryAfter = (reply: FastifyReply, seconds: number) =>
    reply.header('retry-after', String(seconds))

  app.get(
    page,
    {
      schema: { hide: true, querystring: StaffPageQuery },
      // `?done=` given twice or holding a NUL: the form without its note, 400, saying why.
      attachValidation: true,
      preHandler: showRefusedInput(pageQueryWords, (request, reply, { message }) =>
        render(request, reply, 400, { error: { field: 'form', message } }),
      ),
      config: { ...staff, queryShowsRefusals: true },
    },
    (request, reply) => render(request, reply, 200, { done: request.query.done === 'changed' }),
  )

  app.post(
    page,
    {
      schema: { hide: true, body: OwnPasswordForm },
      // A field given twice, over-long or holding a NUL: the form again with the sentence by it
      // (400), no password checked and no attempt counted. Passwords are never shown again.
      attachValidation: true,
      preHandler: showRefusedInput(
        {
          current: 'The current password',
          password: 'The new password',
          again: 'The new password again',
        },
        (request, reply, { field, message }) =>
          render(request, reply, 400, { error: { field, message } }),
      ),
      config: { ...staff, formShowsRefusals: true },
    },
    async (request, reply) => {
      const me = request.staff as StaffMember
      const { current = '', password = '', again = '' } = request.body
      const outcome = await changeOwnPassword(
        app.db,
        me,
        { current, password, again },
        {
          address: request.ip,
          shop: app.shopWords,
          // A new session id and CSRF secret, committed with the password (session fixation).
          renew: (trx, staffId) => startSession(trx, reply, staffId, production),
        },
      )
      if (outcome.kind === 'throttled') {
        retryAfter(reply, outcome.retryAfterSeconds)
        const error = { field: 'current', message: outcome.message }
        return render(request, reply, 429, { error })
      }
      if (outcome.kind === 'invalid') {
        const { field, message } = outcome
        return render(request, reply, 400, { error: { field, message } })
      }
      request.log.info({ staffId: me.id }, 'staff password changed')
      return reply.redirect(`${page}?done=changed`, 303)
    },
  )

  app.put(
    '/api/admin/me/password',
    {
      schema: {
        summary: 'Change your own password (the bearer token’s account)',
        description:
          'The current password is checked as at sign-in, under the same throttle (10 checks per account, 30 per client address, in 15 minutes, counted with the sign-in form’s): a wrong one is 400 pointing at `/currentPassword`, and past the throttle 429. The new one is 15 to 1024 characters without a control character (400 pointing at `/newPassword`), and, once the current one is right, not the current one in any Unicode form (NFKC, as it is hashed; 400 pointing at `/newPassword`, nothing changed). On 204 every session of the account has ended (the pages sign in again with the new password); its API tokens, this one included, keep working.',
        ...adminApi,
        body: OwnPasswordBody,
        response: { 204: Type.Null(), 400: ErrorResponse, 429: ErrorResponse },
      },
      config: staff,
    },
    async (request, reply) => {
      const me = request.staff as StaffMember
      const { currentPassword: current, newPassword: password } = request.body
      const address = request.ip
      const outcome = await changeOwnPassword(
        app.db,
        me,
        { current, password },
        { address, shop: app.shopWords },
      )
      if (outcome.kind === 'throttled') {
        retryAfter(reply, outcome.retryAfterSeconds)
        return sendError(request, reply, 429, outcome.message)
      }
      if (outcome.kind === 'invalid') {
        return refuseValue(request, reply, { pointer: apiField[outcome.field] }, outcome.message)
      }
      request.log.info({ staffId: me.id }, 'staff password changed')
      return reply.code(204).send(null)
    },
  )
}

export default ownPassword
