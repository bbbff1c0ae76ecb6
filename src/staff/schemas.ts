import { Type } from 'typebox'
import { maxPasswordLength } from './passwords.ts'

/**
 * The sign-in form. Every field optional and checked by the route, so a form missing one is
 * answered like a wrong password (with the form again), not with a bare validation error.
 */
export const SignInForm = Type.Object({
  email: Type.Optional(Type.String({ maxLength: 254 })),
  password: Type.Optional(Type.String({ maxLength: maxPasswordLength })),
  next: Type.Optional(Type.String({ maxLength: 2000 })),
  _csrf: Type.Optional(Type.String({ maxLength: 100 })),
})

export const SignInQuery = Type.Object({
  next: Type.Optional(Type.String({ maxLength: 2000 })),
})

/** Forms that carry nothing but their CSRF token (sign-out). */
export const CsrfForm = Type.Object({
  _csrf: Type.Optional(Type.String({ maxLength: 100 })),
})

export const StaffMe = Type.Object({
  id: Type.Integer(),
  email: Type.String(),
  role: Type.Union([Type.Literal('staff'), Type.Literal('admin')]),
})

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
