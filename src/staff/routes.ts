import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { FastifyReply, FastifyRequest } from 'fastify'
import { pageQueryWords, type RefusedInput, showRefusedInput } from '../admin/refused-input.ts'
import type { Config } from '../config.ts'
import { cookie, readCookie } from '../cookies.ts'
import { localPartFits, maxEmailLength, maxLocalPart } from '../email.ts'
import { webhookHomeNotice } from '../webhooks/home-notice.ts'
import { signInPath } from './access.ts'
import staffAdminPages from './admin-pages.ts'
import staffAdminRoutes from './admin-routes.ts'
import { insecureSignIn } from './cookies.ts'
import ownPassword from './own-password.ts'
import { deleteSession, staffEmail } from './queries.ts'
import { adminApi, CsrfForm, SignInForm, SignInQuery, StaffMe, safeNext } from './schemas.ts'
import { looksLikeSecret, newSecret } from './secrets.ts'
import {
  clearSessionCookie,
  cookieNames,
  currentSession,
  sessionTimes,
  startSession,
} from './sessions.ts'
import { signIn } from './sign-in.ts'
import { signInNote } from './sign-in-notes.ts'

const refused = 'That e-mail and password do not match a staff account.'
const throttled = 'Too many sign-in attempts. Please wait 15 minutes and try again.'
const emailTooLong = `That is longer than an e-mail address can be (at most ${maxEmailLength} characters, ${maxLocalPart} before the @). Check it and try again.`

/** How the sign-in page's sentences name its fields and parameters (refused-input.ts). */
const signInWords = {
  ...pageQueryWords,
  email: 'The e-mail address',
  password: 'The password',
}

/**
 * Whether `email` is within an address's limits (src/email.ts) as accounts are stored (in NFC:
 * staffEmail, so an address typed decomposed is measured as its account holds it).
 */
const fitsAnEmail = (email: string) => {
  const stored = staffEmail(email)
  return stored.length <= maxEmailLength && localPartFits(stored)
}

/**
 * The sign-in and sign-out pages, the back office's landing page, and `GET /api/admin/me`; a
 * member's own password (own-password.ts); and the admin role's staff accounts (admin-pages.ts,
 * admin-routes.ts). Who may call each is declared in `config.access` and enforced by access.ts.
 */
const staffRoutes: FastifyPluginAsyncTypebox<{ config: Config }> = async (app, { config }) => {
  const production = config.NODE_ENV === 'production'
  const names = cookieNames(production)
  await app.register(staffAdminRoutes)
  await app.register(staffAdminPages, { production })
  await app.register(ownPassword, { production })

  /**
   * The sign-in form with a pre-session CSRF token: kept from the browser's cookie when it has
   * one (several tabs), else a new one set as a cookie. The POST must send it back in `_csrf`
   * (double submit: a cross-site form cannot read or set the cookie).
   */
  function renderSignIn(
    request: FastifyRequest,
    reply: FastifyReply,
    status: number,
    page: {
      message?: string
      email?: string
      next?: string | undefined
      /** The field the message is about, marked invalid with the message beside it. */
      field?: 'email'
      /** Why the member is here (sign-in-notes.ts): signed out, or their session ended. */
      note?: string | undefined
    },
  ) {
    let csrf = readCookie(request.headers.cookie, names.login)
    if (!looksLikeSecret(csrf)) {
      csrf = newSecret()
      const options = { maxAge: sessionTimes.absoluteSeconds, secure: production }
      reply.header('set-cookie', cookie(names.login, csrf, options))
    }
    const insecure = insecureSignIn(production, request)
    return reply.code(status).view('admin-login.eta', { ...page, csrf, insecure })
  }

  /**
   * A sign-in form or address refused as sent (a field given twice, over-long, holding a NUL):
   * the form again, 400, with the sentence and what can be kept (never the password), and no
   * attempt counted, as no password was checked.
   */
  const refusedSignIn = showRefusedInput(
    signInWords,
    async (request, reply, refused: RefusedInput) => {
      const { email, next } = refused.kept
      // Signed in already: the page goes on to the admin home, as it does for any `next`.
      if (request.method === 'GET' && (await currentSession(app.db, request, production))) {
        return reply.redirect('/admin', 303)
      }
      return renderSignIn(request, reply, 400, {
        message: refused.message,
        email: typeof email === 'string' ? email.trim() : undefined,
        next: safeNext(typeof next === 'string' ? next : undefined),
        ...(refused.field === 'email' && { field: 'email' as const }),
      })
    },
  )
  const refusalsShown = {
    attachValidation: true,
    preHandler: refusedSignIn,
    config: { access: 'public' as const, formShowsRefusals: true, queryShowsRefusals: true },
  }

  app.get(
    signInPath,
    { schema: { hide: true, querystring: SignInQuery }, ...refusalsShown },
    async (request, reply) => {
      const next = safeNext(request.query.next)
      if (await currentSession(app.db, request, production)) {
        return reply.redirect(next ?? '/admin', 303)
      }
      return renderSignIn(request, reply, 200, { next, note: signInNote(request.query) })
    },
  )

  app.post(
    signInPath,
    { schema: { hide: true, body: SignInForm }, ...refusalsShown },
    async (request, reply) => {
      const email = (request.body.email ?? '').trim()
      const next = safeNext(request.body.next)
      if (!fitsAnEmail(email)) {
        // No account has it, so no password is checked and no attempt counted: the form again.
        return renderSignIn(request, reply, 400, {
          message: emailTooLong,
          email,
          next,
          field: 'email',
        })
      }
      const result = await signIn(app.db, {
        email,
        password: request.body.password ?? '',
        address: request.ip,
      })
      if (result.outcome === 'throttled') {
        reply.header('retry-after', String(result.retryAfterSeconds))
        return renderSignIn(request, reply, 429, { message: throttled, email, next })
      }
      if (result.outcome === 'refused') {
        return renderSignIn(request, reply, 400, { message: refused, email, next })
      }
      await startSession(app.db, reply, result.staff.id, production)
      // The sign-in form's token has done its work: the next sign-in (after signing out, or as
      // another member) gets a new one, not the pair this browser has carried since.
      reply.header('set-cookie', cookie(names.login, '', { maxAge: 0, secure: production }))
      request.log.info({ staffId: result.staff.id }, 'staff signed in')
      return reply.redirect(next ?? '/admin', 303)
    },
  )

  app.post(
    '/admin/logout',
    { schema: { hide: true, body: CsrfForm }, config: { access: 'staff' } },
    async (request, reply) => {
      if (request.staffSession) await deleteSession(app.db, request.staffSession.id, sessionTimes)
      clearSessionCookie(reply, production)
      return reply.redirect(`${signInPath}?done=signed-out`, 303)
    },
  )

  app.get(
    '/admin',
    { schema: { hide: true }, config: { access: 'staff' } },
    async (request, reply) =>
      reply.view('admin-home.eta', {
        staff: request.staff,
        csrf: request.staffSession?.csrfSecret,
        // Endpoints the dispatcher disabled or that are failing: admins only, as their pages.
        webhooks: request.staff?.role === 'admin' ? await webhookHomeNotice(app.db) : undefined,
      }),
  )

  app.get(
    '/api/admin/me',
    {
      schema: {
        summary: 'The staff member the bearer token belongs to',
        ...adminApi,
        response: { 200: StaffMe },
      },
      config: { access: 'staff' },
    },
    async (request) => request.staff as NonNullable<typeof request.staff>,
  )
}

export default staffRoutes
