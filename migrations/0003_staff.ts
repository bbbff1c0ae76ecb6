import { type Kysely, sql } from 'kysely'

/**
 * Staff who sign in to the back office, their server-side sessions, their API tokens, and the
 * sign-in attempts the throttle counts. Secrets are never stored: a password as its argon2id
 * PHC string, a session id and a token as the SHA-256 of the random value the client holds.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('staff')
    .addColumn('id', 'serial', (c) => c.primaryKey())
    .addColumn('email', 'text', (c) => c.notNull())
    .addColumn('role', 'text', (c) => c.notNull().check(sql`role in ('staff', 'admin')`))
    .addColumn('password_hash', 'text', (c) => c.notNull())
    .addColumn('disabled_at', 'timestamptz')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute()
  // One account per address whatever its case: Ada@Example.com and ada@example.com are one.
  await sql`create unique index staff_email_key on staff (lower(email))`.execute(db)

  // id: SHA-256 (hex) of the cookie's random value. A session ends when idle for 30 minutes
  // (last_seen_at) or at expires_at (created_at + 12 h), whichever comes first.
  await db.schema
    .createTable('staff_sessions')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('staff_id', 'integer', (c) => c.notNull().references('staff.id').onDelete('cascade'))
    .addColumn('csrf_secret', 'text', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('last_seen_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('expires_at', 'timestamptz', (c) => c.notNull())
    .execute()
  await db.schema
    .createIndex('staff_sessions_staff_id')
    .on('staff_sessions')
    .column('staff_id')
    .execute()

  await db.schema
    .createTable('staff_tokens')
    .addColumn('id', 'serial', (c) => c.primaryKey())
    .addColumn('staff_id', 'integer', (c) => c.notNull().references('staff.id').onDelete('cascade'))
    .addColumn('token_hash', 'text', (c) => c.notNull().unique())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('last_used_at', 'timestamptz')
    .addColumn('revoked_at', 'timestamptz')
    .execute()
  await db.schema
    .createIndex('staff_tokens_staff_id')
    .on('staff_tokens')
    .column('staff_id')
    .execute()

  // One row per sign-in attempt, by the lower-cased e-mail typed (known or not) and the client
  // address: the throttle counts both over a window, shared by every instance.
  await db.schema
    .createTable('staff_login_attempts')
    .addColumn('id', 'bigserial', (c) => c.primaryKey())
    .addColumn('email', 'text', (c) => c.notNull())
    .addColumn('address', 'text', (c) => c.notNull())
    .addColumn('attempted_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute()
  await db.schema
    .createIndex('staff_login_attempts_email')
    .on('staff_login_attempts')
    .columns(['email', 'attempted_at'])
    .execute()
  await db.schema
    .createIndex('staff_login_attempts_address')
    .on('staff_login_attempts')
    .columns(['address', 'attempted_at'])
    .execute()
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('staff_login_attempts').execute()
  await db.schema.dropTable('staff_tokens').execute()
  await db.schema.dropTable('staff_sessions').execute()
  await db.schema.dropTable('staff').execute()
}
