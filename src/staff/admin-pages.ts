import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { FastifyReply, FastifyRequest } from 'fastify'
import { pageQueryWords, showRefusedInput } from '../admin/refused-input.ts'
import { sendError } from '../plugins/errors.ts'
import {
  type AddOutcome,
  addStaffMember,
  changeStaff,
  isRole,
  listStaff,
  staffDetails,
} from './accounts.ts'
import { setMemberPassword } from './password-change.ts'
import { passwordRule } from './passwords.ts'
import type { Role } from './queries.ts'
import {
  StaffForm,
  StaffIdParams,
  StaffPageQuery,
  StaffTokenParams,
  unknownMember,
  unknownToken,
} from './schemas.ts'
import { keepForReveal, takeReveal } from './secret-reveal.ts'
import { createToken, isLiveToken, revokeToken, tokenReveal } from './tokens.ts'

/** What the member's page says after each action (`?done=`); anything else says nothing. */
const doneMessages: Record<string, string> = {
  added: 'Account added. It can sign in with the password you chose.',
  disabled: 'Disabled: their sessions have ended and their tokens are revoked.',
  enabled: 'Enabled: they can sign in again. Their old tokens stay revoked.',
  role: 'Role changed: it applies from their next request.',
  password:
    'New password set: their sessions have ended; their API tokens still work. Give it to them in person.',
  revoked: 'Token revoked: it is refused from its next request on.',
  // The page after creating a token, once its one showing is past (a reload, say).
  token:
    'A token was created; it was shown once and is not shown again. If it was not copied, revoke it and create another.',
}

/** A member form that no page of ours sends as it came (a field missing, given twice, too long). */
const damagedForm = 'This form is damaged: reload the page and try again.'

/** `/admin/staff/7` */
const memberPath = (id: number) => `/admin/staff/${id}`

const admin = { access: 'admin' as const }

/**
 * The admin role's staff accounts, server-rendered (no client JavaScript; issue 15): the list
 * with a form to add one, and a member's page with their tokens and the forms that disable,
 * enable, change the role, create a token (shown once, on the page that form leads to:
 * secret-reveal.ts), revoke one, and set a new password (typed by the admin, as when adding an
 * account: password-change.ts, setMemberPassword). Every route is admin-only and every form posts
 * the session's `_csrf` (both enforced by access.ts). Each action answers 303 to the member's
 * page with `?done=`; a refused form re-renders its page with the reason (400 bad field, 409
 * taken e-mail, last admin, oneself). `production`: the one-time cookie's name and Secure flag.
 */
const staffAdminPages: FastifyPluginAsyncTypebox<{ production: boolean }> = async (
  app,
  { production },
) => {
  async function renderList(
    request: FastifyRequest,
    reply: FastifyReply,
    status: number,
    form: { email?: string; role?: string; error?: { field: string; message: string } } = {},
  ) {
    return reply.code(status).view('admin-staff.eta', {
      staff: await listStaff(app.db),
      form,
      me: request.staff,
      csrf: request.staffSession?.csrfSecret,
      ...passwordRule,
    })
  }

  /** The member's page, or 404 when there is no such account. */
  async function renderMember(
    request: FastifyRequest,
    reply: FastifyReply,
    id: number,
    status: number,
    page: { message?: string; done?: string; newToken?: { id: number; token: string } } = {},
  ) {
    const member = await staffDetails(app.db, id)
    if (!member) return sendError(request, reply, 404, unknownMember(id))
    return reply.code(status).view('admin-staff-member.eta', {
      member,
      me: request.staff,
      csrf: request.staffSession?.csrfSecret,
      message: page.message,
      done: page.done ? doneMessages[page.done] : undefined,
      newToken: page.newToken,
      ...passwordRule,
    })
  }

  const back = (reply: FastifyReply, id: number, done: string) =>
    reply.redirect(`${memberPath(id)}?done=${done}`, 303)

  /** Disable, enable or a new role, then back to the page (or the page with the reason). */
  async function change(
    request: FastifyRequest,
    reply: FastifyReply,
    id: number,
    what: { role?: Role; disabled?: boolean },
    done: string,
  ) {
    const outcome = await changeStaff(app.db, { id }, what, { actorId: request.staff?.id })
    if (outcome.kind === 'not-found') return sendError(request, reply, 404, unknownMember(id))
    if (outcome.kind !== 'changed') {
      return renderMember(request, reply, id, 409, { message: outcome.message })
    }
    request.log.info({ staffId: request.staff?.id, memberId: id, ...what }, 'staff account changed')
    return back(reply, id, done)
  }

  /** How the staff forms' sentences name their fields (src/admin/refused-input.ts). */
  const fieldWords = {
    email: 'The e-mail address',
    role: 'The role',
    password: 'The password',
    newest: 'The form’s newest token',
  }

  app.get(
    '/admin/staff',
    {
      schema: { hide: true },
      // `?done=` holding a NUL: the list without its note, 400, saying why (refused-input.ts).
      attachValidation: true,
      preHandler: showRefusedInput(pageQueryWords, (request, reply, { message }) =>
        renderList(request, reply, 400, { error: { field: 'form', message } }),
      ),
      config: { ...admin, queryShowsRefusals: true },
    },
    (request, reply) => renderList(request, reply, 200),
  )

  app.post(
    '/admin/staff',
    {
      schema: { hide: true, body: StaffForm },
      // A field given twice, over-long or holding a NUL: the form again with the sentence by the
      // field and the e-mail and role kept (never the password), 400 (refused-input.ts).
      attachValidation: true,
      preHandler: showRefusedInput(fieldWords, (request, reply, { field, message, kept }) => {
        const text = (value: unknown) => (typeof value === 'string' ? value : undefined)
        const shown = field === 'email' || field === 'role' || field === 'password'
        return renderList(request, reply, 400, {
          email: text(kept.email),
          role: text(kept.role),
          error: { field: shown ? field : 'form', message },
        })
      }),
      config: { ...admin, formShowsRefusals: true },
    },
    async (request, reply) => {
      const { email = '', role = '', password = '' } = request.body
      const outcome: AddOutcome = await addStaffMember(
        app.db,
        { email, role, password },
        app.shopWords,
      )
      if (outcome.kind === 'added') {
        const memberId = outcome.member.id
        request.log.info({ staffId: request.staff?.id, memberId }, 'staff account added')
        return back(reply, memberId, 'added')
      }
      // What was typed comes back, except the password.
      const field = outcome.kind === 'invalid' ? outcome.field : 'email'
      return renderList(request, reply, outcome.kind === 'invalid' ? 400 : 409, {
        email,
        role,
        error: { field, message: outcome.message },
      })
    },
  )

  app.get(
    '/admin/staff/:id',
    {
      schema: { hide: true, params: StaffIdParams, querystring: StaffPageQuery },
      // `?done=` given twice or holding a NUL: the page without its note, 400, saying why.
      attachValidation: true,
      preHandler: showRefusedInput(pageQueryWords, (request, reply, { message }) =>
        renderMember(request, reply, Number((request.params as { id: string }).id), 400, {
          message,
        }),
      ),
      config: { ...admin, queryShowsRefusals: true },
    },
    async (request, reply) => {
      const id = Number(request.params.id)
      const reveal = await takeReveal(request, reply, tokenReveal, production, (tokenId, token) =>
        isLiveToken(app.db, id, tokenId, token),
      )
      const newToken = reveal && { id: reveal.id, token: reveal.secret }
      // The token's own box says what was done while it is shown.
      const done = newToken ? undefined : request.query.done
      return renderMember(request, reply, id, 200, { done, newToken })
    },
  )

  /**
   * A member's forms: a field given twice, over-long or holding a NUL is the member's page with
   * the sentence, 400 (refused-input.ts). A path's id refused (`/admin/staff/x1/role`) is the
   * error page as on every id route: there is no page to show.
   */
  const memberForm = {
    schema: { hide: true, params: StaffIdParams, body: StaffForm },
    attachValidation: true,
    preHandler: showRefusedInput(fieldWords, (request, reply, { message }) => {
      const id = Number((request.params as { id: string }).id)
      return renderMember(request, reply, id, 400, { message })
    }),
    config: { ...admin, formShowsRefusals: true },
  }

  app.post('/admin/staff/:id/disable', memberForm, (request, reply) =>
    change(request, reply, Number(request.params.id), { disabled: true }, 'disabled'),
  )

  app.post('/admin/staff/:id/enable', memberForm, (request, reply) =>
    change(request, reply, Number(request.params.id), { disabled: false }, 'enabled'),
  )

  app.post('/admin/staff/:id/role', memberForm, async (request, reply) => {
    const { role } = request.body
    if (!isRole(role)) {
      return renderMember(request, reply, Number(request.params.id), 400, {
        message: 'Choose staff or admin.',
      })
    }
    return change(request, reply, Number(request.params.id), { role }, 'role')
  })

  app.post('/admin/staff/:id/password', memberForm, async (request, reply) => {
    const id = Number(request.params.id)
    const outcome = await setMemberPassword(app.db, id, request.body.password ?? '', {
      actorId: request.staff?.id,
      shop: app.shopWords,
    })
    if (outcome.kind === 'not-found') return sendError(request, reply, 404, unknownMember(id))
    if (outcome.kind !== 'set') {
      const status = outcome.kind === 'invalid' ? 400 : 409
      return renderMember(request, reply, id, status, { message: outcome.message })
    }
    request.log.info({ staffId: request.staff?.id, memberId: id }, 'staff password reset')
    return back(reply, id, 'password')
  })

  app.post('/admin/staff/:id/tokens', memberForm, async (request, reply) => {
    const id = Number(request.params.id)
    // The form's newest token id: a second submit of it (a double click) makes no second token.
    // Required: without it the guard would be skipped (the API, with no form, has none).
    const { newest } = request.body
    if (newest === undefined || !/^(0|[1-9][0-9]{0,9})$/.test(newest)) {
      return renderMember(request, reply, id, 400, { message: damagedForm })
    }
    const outcome = await createToken(app.db, { id }, +newest)
    if (outcome.kind === 'not-found') return sendError(request, reply, 404, unknownMember(id))
    if (outcome.kind === 'disabled') {
      return renderMember(request, reply, id, 409, { message: outcome.message })
    }
    if (outcome.kind === 'stale') {
      // All the form tells is that the account's newest token is no longer the one the page
      // showed: this form sent before (a double click) or a token made elsewhere since (another
      // tab, the API, `npm run staff -- token`) look the same, so the message names both.
      const message = `This form was already sent, or a token was made for this account since the page was shown (from another tab, the API or npm run staff -- token): nothing was made now. The newest token is now token ${outcome.newest}; if your earlier submit made it, its value was shown once on the page that answered it (if you did not copy it, revoke it and create another). To make one more, use Create token on this page.`
      return renderMember(request, reply, id, 409, { message })
    }
    const tokenId = outcome.summary.id
    request.log.info({ staffId: request.staff?.id, memberId: id, tokenId }, 'staff token created')
    // Post/Redirect/Get: the page shows it once (secret-reveal.ts), so a reload makes no other.
    keepForReveal(reply, tokenReveal, { id: tokenId, secret: outcome.token }, production)
    return back(reply, id, 'token')
  })

  app.post(
    '/admin/staff/:id/tokens/:tokenId/revoke',
    { ...memberForm, schema: { ...memberForm.schema, params: StaffTokenParams } },
    async (request, reply) => {
      const id = Number(request.params.id)
      const tokenId = Number(request.params.tokenId)
      if (!(await revokeToken(app.db, tokenId, id))) {
        return sendError(request, reply, 404, unknownToken(id, tokenId))
      }
      request.log.info({ staffId: request.staff?.id, memberId: id, tokenId }, 'staff token revoked')
      return back(reply, id, 'revoked')
    },
  )
}

export default staffAdminPages
