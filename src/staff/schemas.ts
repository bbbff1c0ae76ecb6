import { type Static, Type } from 'typebox'
import { IdParam, noRow } from '../ids.ts'
import { StringEnum } from '../validation.ts'
import { guessableRule } from './passwords.ts'

/**
 * The sign-in form. Every field optional and checked by the route, so a form missing one is
 * answered like a wrong password (with the form again), not with a bare validation error. The
 * e-mail and password have no length here for the same reason: one longer than any account's
 * gets the form again with a sentence (routes.ts; signIn refuses an over-long password as a
 * wrong one); the body limit (64 KiB) bounds both.
 */
export const SignInForm = Type.Object({
  email: Type.Optional(Type.String()),
  password: Type.Optional(Type.String()),
  next: Type.Optional(Type.String({ maxLength: 2000 })),
  _csrf: Type.Optional(Type.String({ maxLength: 100 })),
})

/** `next`: the back-office page to go on to; `ended`, `done`: what the page says (sign-in-notes.ts). */
export const SignInQuery = Type.Object({
  next: Type.Optional(Type.String({ maxLength: 2000 })),
  ended: Type.Optional(Type.String({ maxLength: 40 })),
  done: Type.Optional(Type.String({ maxLength: 40 })),
})

/** Forms that carry nothing but their CSRF token (sign-out). */
export const CsrfForm = Type.Object({
  _csrf: Type.Optional(Type.String({ maxLength: 100 })),
})

const RoleSchema = StringEnum(['staff', 'admin'], {
  description: 'staff: orders, stock, insights; admin: also staff accounts',
})

export const StaffMe = Type.Object({
  id: Type.Integer(),
  email: Type.String(),
  role: RoleSchema,
})

const time = (description: string) => Type.String({ format: 'date-time', description })
const maybeTime = (description: string) =>
  Type.Union([Type.String({ format: 'date-time' }), Type.Null()], { description })

/** A staff account as `/api/admin/staff` shows it: never a password hash or a token. */
export const StaffAccount = Type.Object({
  id: Type.Integer(),
  email: Type.String(),
  role: RoleSchema,
  disabled: Type.Boolean({ description: 'true: cannot sign in, no session, no working token' }),
  disabledAt: maybeTime('when it was disabled; null while enabled'),
  createdAt: time('when it was added'),
  activeTokens: Type.Integer({ description: 'tokens not revoked' }),
  lastTokenUsedAt: maybeTime('the last time any of its tokens was used; null when never'),
})
export type StaffAccount = Static<typeof StaffAccount>

/** An API token as listed: never its value or its hash. */
export const StaffToken = Type.Object({
  id: Type.Integer(),
  createdAt: time('when it was created'),
  lastUsedAt: maybeTime('its last use; null when never used'),
  revokedAt: maybeTime('when it was revoked (or its account disabled); null while it works'),
})
export type StaffToken = Static<typeof StaffToken>

export const StaffAccountWithTokens = Type.Object({
  ...StaffAccount.properties,
  tokens: Type.Array(StaffToken, { description: 'newest first' }),
})

/** `POST /api/admin/staff/:id/tokens`: the token's value, in this answer only. */
export const NewStaffToken = Type.Object({
  ...StaffToken.properties,
  token: Type.String({
    description:
      'the token, shown this once (only its SHA-256 is stored): send it as `Authorization: Bearer <token>`',
  }),
})

/** What a new password's field says it takes (passwordProblem in passwords.ts). */
const newPasswordRule = `15 to 1024 characters, no control character (tab, newline…), ${guessableRule}`

/**
 * `POST /api/admin/staff`. Every field's rule (e-mail, role, the password's length) is checked
 * by the route with the command line's functions (src/staff/accounts.ts), so both say the same.
 */
export const NewStaffBody = Type.Object(
  {
    email: Type.String({
      maxLength: 1000,
      examples: ['ada@example.com'],
      description: 'in ASCII, as an order’s customer e-mail (a domain in its xn-- form)',
    }),
    role: Type.String({ maxLength: 20, examples: ['staff'], description: 'staff or admin' }),
    password: Type.String({ maxLength: 2000, description: newPasswordRule }),
  },
  { additionalProperties: false },
)
export type NewStaffBody = Static<typeof NewStaffBody>

/** `PATCH /api/admin/staff/:id`: a new role, disabled or enabled again, or both. */
export const StaffPatch = Type.Object(
  {
    role: Type.Optional(RoleSchema),
    disabled: Type.Optional(
      Type.Boolean({
        description:
          'true ends its sessions and revokes its tokens at once; false lets it sign in again (with new tokens)',
      }),
    ),
  },
  { additionalProperties: false },
)
export type StaffPatch = Static<typeof StaffPatch>

const memberOptions = { what: 'staff account', column: 'int4' } as const
const memberId = IdParam(memberOptions)

export const StaffIdParams = Type.Object({ id: memberId })
const tokenId = {
  what: 'token',
  column: 'int4',
  of: { param: 'id', what: 'staff account' },
} as const
export const StaffTokenParams = Type.Object({ id: memberId, tokenId: IdParam(tokenId) })

/** `There is no staff account 12.`: the 404 of a member's routes (and of an id past int4). */
export const unknownMember = (id: number) => noRow(memberOptions, id)
/** `Staff account 12 has no token 99.`: one sentence whether or not 99 fits the column (ids.ts). */
export const unknownToken = (id: number, token: number) => noRow(tokenId, token, id)

/** The staff pages' forms: every field a string, checked by the route. */
export const StaffForm = Type.Object({
  _csrf: Type.Optional(Type.String({ maxLength: 100 })),
  email: Type.Optional(Type.String({ maxLength: 1000 })),
  role: Type.Optional(Type.String({ maxLength: 20 })),
  password: Type.Optional(Type.String({ maxLength: 2000 })),
  /** "Create token": the member's newest token id as the page showed it (0: none). */
  newest: Type.Optional(Type.String({ maxLength: 12 })),
})

/** `?done=` of a member's page and of `/admin/password`: what was just done. */
export const StaffPageQuery = Type.Object({
  done: Type.Optional(Type.String({ maxLength: 20 })),
})

/** A password field of a form or body: longer than the rule allows, so the rule says why. */
const passwordField = (description: string) => Type.String({ maxLength: 2000, description })

/**
 * `/admin/password`, a member's own password: the current one and the new one twice. Every field
 * optional and checked by the route (changeOwnPassword), so a field left out is answered with the
 * form and the reason.
 */
export const OwnPasswordForm = Type.Object({
  _csrf: Type.Optional(Type.String({ maxLength: 100 })),
  current: Type.Optional(passwordField('the password the account has now')),
  password: Type.Optional(passwordField('the new password')),
  again: Type.Optional(passwordField('the new password again')),
})
export type OwnPasswordForm = Static<typeof OwnPasswordForm>

/** `PUT /api/admin/me/password`. Both checked by the route with the forms' rules. */
export const OwnPasswordBody = Type.Object(
  {
    currentPassword: passwordField('the password the account has now'),
    newPassword: passwordField(newPasswordRule),
  },
  { additionalProperties: false },
)
export type OwnPasswordBody = Static<typeof OwnPasswordBody>

/** `PUT /api/admin/staff/:id/password`: the new password an admin chose for the member. */
export const MemberPasswordBody = Type.Object(
  { password: passwordField(newPasswordRule) },
  { additionalProperties: false },
)
export type MemberPasswordBody = Static<typeof MemberPasswordBody>

/** Stands in for the service's own origin when `next` is resolved: only its sameness matters. */
const here = 'http://here.invalid'

/**
 * Where a signed-in member goes next: only a back-office page, never another site nor a page
 * outside `/admin`. `next` is resolved as a browser would (WHATWG URL, so `..`, `%2e%2e` and
 * `./` are applied first) against a stand-in origin; it is taken only when it stays on that
 * origin and its path is `/admin` or under `/admin/`, with no backslash, whitespace or control
 * character as typed, and no `//`, `\`, `.` or `..` segment once its escapes are decoded
 * (`/admin/%2F%2Fevil.com`, `/admin/..%2Fapi`), which a server or proxy that decodes before
 * routing could read as another host or path.
 * Returns the resolved path and query (`/admin/orders?x=1`), never the raw text; undefined for
 * anything else, and the caller falls back to `/admin`.
 */
export function safeNext(next: string | undefined): string | undefined {
  if (!next?.startsWith('/') || next.startsWith('//') || /[\\\s\p{Cc}]/u.test(next)) {
    return undefined
  }
  let url: URL
  let decoded: string
  try {
    url = new URL(next, here)
    decoded = decodeURIComponent(url.pathname)
  } catch {
    return undefined
  }
  const inside = url.pathname === '/admin' || url.pathname.startsWith('/admin/')
  if (url.origin !== here || !inside || /\/\/|\\|\/\.\.?(?:\/|$)/.test(decoded)) return undefined
  return `${url.pathname}${url.search}`
}

/**
 * The query string of a staff API route (`/api/admin/…`) that takes none: any parameter is
 * refused, 400 naming it (`querystring has an unknown field "enabled"`, validation.ts), as one
 * the route does not read (`?enabled=true`, `?limit=5`) would otherwise be answered as if it
 * applied. Routes that take some declare them strict too (the order list, an endpoint's
 * deliveries); test/admin/api-query-strict.test.ts holds every /api/admin route to it. The
 * pages' query strings stay lenient (docs/api.md, "Unknown fields").
 */
export const NoQuery = Type.Object({}, { additionalProperties: false })

/** What every `/api/admin/…` route's schema starts with: the admin tag, a bearer token, no query. */
export const adminApi = { tags: ['admin'], security: [{ staffToken: [] }], querystring: NoQuery }
