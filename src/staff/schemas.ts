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

/** Where a signed-in member goes next: only a back-office page, never another site. */
export function safeNext(next: string | undefined): string | undefined {
  return next && /^\/admin(?:[/?]|$)/.test(next) && !/[\\\s]/.test(next) ? next : undefined
}
