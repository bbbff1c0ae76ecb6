import { type Kysely, sql } from 'kysely'
import type { Database } from './schema.ts'

/**
 * The service's database role: reads and writes the rows of the service's tables, and
 * nothing else (no CREATE, ALTER, DROP or TRUNCATE: it owns no table). Migrations run as the
 * tables' owner (MIGRATION_DATABASE_URL), which grants this role its privileges after every
 * migration run, so a table a new migration adds is covered the moment it exists. The
 * migration tables are the exception: the role may read which migrations ran (to refuse to
 * serve a schema it does not know) but not take the migration lock or record a migration.
 */

/** The migrator's own tables (Kysely's defaults). */
const migrationTables = ['kysely_migration', 'kysely_migration_lock']

/** The role of the DATABASE_URL the service serves with does not exist yet. */
export class ServiceRoleMissingError extends Error {
  override name = 'ServiceRoleMissingError'
}

/**
 * Throws ServiceRoleMissingError when `role` does not exist on the server `db` is connected to.
 * Run before migrating (prepare-schema.ts), so that a role to create stops the run with nothing
 * changed, rather than after a schema was migrated that no role could then serve.
 */
export async function checkServiceRole(db: Kysely<Database>, role: string): Promise<void> {
  const exists = await sql<{ found: boolean }>`
    select exists (select from pg_roles where rolname = ${role}) as found`.execute(db)
  if (!exists.rows[0]?.found)
    throw new ServiceRoleMissingError(
      `The service's database role "${role}" (the user in DATABASE_URL) does not exist: create it once (docs/deployment.md, "What runs as whom"), then migrate again`,
    )
}

/**
 * Grants `role` (which exists: checkServiceRole) what serving needs on the current schema's
 * tables and sequences, now and (by default privileges of the connected role, the owner) for
 * tables it creates later. Run by the owner; idempotent.
 */
export async function grantServiceRole(owner: Kysely<Database>, role: string): Promise<void> {
  const r = sql.id(role)
  const schema = (await sql<{ schema: string }>`select current_schema() as schema`.execute(owner))
    .rows[0]?.schema
  if (!schema) throw new Error('no current schema')
  const s = sql.id(schema)
  await owner.transaction().execute(async (trx) => {
    await sql`grant usage on schema ${s} to ${r}`.execute(trx)
    await sql`grant select, insert, update, delete on all tables in schema ${s} to ${r}`.execute(
      trx,
    )
    await sql`grant usage, select on all sequences in schema ${s} to ${r}`.execute(trx)
    await sql`alter default privileges in schema ${s} grant select, insert, update, delete on tables to ${r}`.execute(
      trx,
    )
    await sql`alter default privileges in schema ${s} grant usage, select on sequences to ${r}`.execute(
      trx,
    )
    for (const table of migrationTables) {
      await sql`revoke all on table ${sql.id(schema, table)} from ${r}`.execute(trx)
    }
    await sql`grant select on table ${sql.id(schema, 'kysely_migration')} to ${r}`.execute(trx)
  })
}

/**
 * Whether the connected role may apply migrations: it may create in the current schema and
 * (once there is one) owns the migration table, as the role that ran the earlier migrations.
 */
export async function canMigrate(db: Kysely<Database>): Promise<boolean> {
  const { rows } = await sql<{ allowed: boolean }>`
    select has_schema_privilege(current_schema(), 'CREATE')
      and coalesce(
        (select pg_has_role(c.relowner, 'USAGE')
           from pg_class c
          where c.oid = to_regclass(quote_ident(current_schema()) || '.kysely_migration')),
        true) as allowed`.execute(db)
  return rows[0]?.allowed === true
}

/** Migrations are pending and the service's role may not apply them. */
export class PendingMigrationsError extends Error {
  override name = 'PendingMigrationsError'
  readonly pending: string[]
  constructor(pending: string[]) {
    super(
      `${pending.length} migration${pending.length === 1 ? ' is' : 's are'} pending (${pending.join(', ')}) and the role in DATABASE_URL may not apply them (it owns no table): run \`npm run migrate\` with MIGRATION_DATABASE_URL set to the owner's URL, or give the service MIGRATION_DATABASE_URL`,
    )
    this.pending = pending
  }
}
