import type { Kysely } from 'kysely'
import type { Database } from '../db/schema.ts'
import { hashPassword } from './passwords.ts'
import { insertStaff } from './queries.ts'

/**
 * The first admin from ADMIN_EMAIL and ADMIN_PASSWORD: created when no admin exists, else
 * nothing happens (the password is not hashed, or changed, on later starts). Returns what it
 * did. Safe when several instances start together: the insert itself checks that no admin
 * exists and that the e-mail is free.
 */
export async function ensureFirstAdmin(
  db: Kysely<Database>,
  email: string,
  password: string,
): Promise<'created' | 'admin-exists' | 'email-taken'> {
  const admin = await db
    .selectFrom('staff')
    .select('id')
    .where('role', '=', 'admin')
    .executeTakeFirst()
  if (admin) return 'admin-exists'
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
