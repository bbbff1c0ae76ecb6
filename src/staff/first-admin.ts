import type { Kysely } from 'kysely'
import { ConfigError } from '../config.ts'
import type { Database } from '../db/schema.ts'
import { guessable, hashPassword } from './passwords.ts'
import { insertStaff } from './queries.ts'

/**
 * The first admin from ADMIN_EMAIL and ADMIN_PASSWORD: created when no admin exists, else
 * nothing happens (the password is not hashed, checked or changed, on later starts). Returns
 * what it did. Safe when several instances start together: the insert itself checks that no
 * admin exists and that the e-mail is free. Throws a ConfigError (`Invalid configuration:
 * ADMIN_PASSWORD is too easy to guess: it is a keyboard pattern`, the start stops) when the
 * password is, with `email` and `shop` (the shop's words, shopWords) as words it must not be built on (passwords.ts, guessable; loadConfig
 * has checked its characters and length).
 */
export async function ensureFirstAdmin(
  db: Kysely<Database>,
  email: string,
  password: string,
  shop: readonly string[],
): Promise<'created' | 'admin-exists' | 'email-taken'> {
  const admin = await db
    .selectFrom('staff')
    .select('id')
    .where('role', '=', 'admin')
    .executeTakeFirst()
  if (admin) return 'admin-exists'
  const why = await guessable(password, { email, shop })
  if (why)
    throw new ConfigError(`Invalid configuration: ADMIN_PASSWORD is too easy to guess: ${why}`)
  const id = await insertStaff(
    db,
    { email, role: 'admin', passwordHash: await hashPassword(password) },
    { onlyIfNoAdmin: true },
  )
  if (id !== undefined) return 'created'
  const again = await db
    .selectFrom('staff')
    .select('id')
    .where('role', '=', 'admin')
    .executeTakeFirst()
  return again ? 'admin-exists' : 'email-taken'
}
