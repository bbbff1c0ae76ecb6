/**
 * The database connection: a pg pool for PostgreSQL (DATABASE_URL), with the service's session
 * settings, TLS and named prepared statements, or the embedded PGlite (embedded.ts) with the same
 * session settings; both behind one Kysely. Also what the statements share about planning
 * (PLAN_EACH_RUN) and the pool behind a connection (poolOf).
 */
import { createHash } from 'node:crypto'
import { Kysely, PGliteDialect, PostgresDialect } from 'kysely'
import pg from 'pg'
import { openEmbedded } from './embedded.ts'
import type { Database } from './schema.ts'
import { databaseTls } from './tls.ts'

export interface ConnectOptions {
  /** A postgres:// URL; without it an embedded PGlite is used. */
  databaseUrl?: string | undefined
  /** PGlite data folder, or `memory://` for a throwaway database. */
  dataDir: string
  poolSize?: number
  /** How long to wait for a connection (new or from a busy pool) before failing: no hanging on an outage. */
  connectTimeoutMs?: number
  /** Server-side limit on one statement; 0 or unset for none (migrations may take long). */
  statementTimeoutMs?: number
  /** A PEM file of a CA to trust besides Node's roots (DATABASE_CA_FILE; see tls.ts). */
  caFile?: string | undefined
  /**
   * The password as a function pg calls for each new connection (an Entra ID token: entra.ts),
   * instead of the URL's password.
   */
  password?: (() => Promise<string>) | undefined
  /** The connections' application_name, as pg_stat_activity shows them (a URL's own wins). */
  applicationName?: string
}

/**
 * Settings every session of the service runs with, whatever the server, the database or the
 * role set (startup options override all three). The first group fixes how values are written
 * as text, which pg parses back (node-postgres reads timestamps in ISO style only; a database
 * set to `datestyle = 'SQL, DMY'` made an order's created_at read as 1970). The second keeps the
 * behaviour the statements were written for. The last keeps the plans they were written for:
 * every statement the service serves reads by key, and a plan cached while a table was tiny or
 * its statistics stale (a sequential scan of order_lines) must not outlive the table's growth;
 * without sequential scans the planner takes the index whatever the statistics say.
 */
export const sessionSettings: Readonly<Record<string, string>> = {
  datestyle: 'ISO,MDY',
  intervalstyle: 'postgres',
  timezone: 'UTC',
  extra_float_digits: '1',
  bytea_output: 'hex',
  default_transaction_isolation: 'read committed',
  default_transaction_read_only: 'off',
  lock_timeout: '0',
  enable_seqscan: 'off',
}

/** sessionSettings as libpq's `options` (`-c name=value`, spaces escaped with a backslash). */
export function sessionOptions(existing = ''): string {
  const ours = Object.entries(sessionSettings).map(
    ([name, value]) => `-c ${name}=${value.replaceAll(' ', '\\ ')}`,
  )
  // Ours last: of two settings of one name in the startup options, the later wins.
  return [existing, ...ours].filter(Boolean).join(' ')
}

/** sessionSettings as SET statements, for the embedded database (no startup options there). */
export const sessionSetSql = Object.entries(sessionSettings)
  .map(([name, value]) => `set ${name} = '${value}';`)
  .join(' ')

const pools = new WeakMap<Kysely<Database>, pg.Pool>()

/** The pg pool behind a PostgreSQL connection (for its gauges); undefined for PGlite. */
export const poolOf = (db: Kysely<Database>): pg.Pool | undefined => pools.get(db)

export function connect({
  databaseUrl,
  dataDir,
  poolSize = 10,
  connectTimeoutMs,
  statementTimeoutMs,
  caFile,
  password,
  applicationName,
}: ConnectOptions): Kysely<Database> {
  if (databaseUrl) {
    const { connectionString, ssl } = databaseTls(databaseUrl, caFile)
    // pg lets what it parses from the URL win over the options given beside it: the URL's own
    // `options` go into ours, so they must leave the URL.
    const url = new URL(connectionString)
    const existing = url.searchParams.get('options') ?? ''
    url.searchParams.delete('options')
    const pool = new pg.Pool({
      ...(password ? urlFields(url, password) : { connectionString: url.toString() }),
      ssl,
      options: sessionOptions(existing),
      ...(applicationName ? { application_name: applicationName } : {}),
      max: poolSize,
      keepAlive: true,
      ...(connectTimeoutMs ? { connectionTimeoutMillis: connectTimeoutMs } : {}),
      ...(statementTimeoutMs ? { statement_timeout: statementTimeoutMs } : {}),
      // The server ends a long statement itself; this client-side limit, a second later, ends
      // the wait when no answer can come (a network that drops packets without a reset), which
      // otherwise hangs the request until the network heals.
      ...(statementTimeoutMs ? { query_timeout: statementTimeoutMs + 1000 } : {}),
    })
    // A client that loses its server emits 'error'; without a listener that kills the process.
    // The pool listens while a client is idle; this covers one checked out (its query fails,
    // and the pool drops it when it is released).
    pool.on('error', () => {})
    pool.on('connect', (client) => client.on('error', () => {}))
    pool.on('connect', prepareStatements)
    const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) })
    pools.set(db, pool)
    return db
  }
  const pglite = openEmbedded(dataDir)
  // Queued before anything else is sent: PGlite runs queries in the order they were asked. If
  // it fails (a broken data folder), the first real query fails too and reports it.
  void pglite.exec(sessionSetSql).catch(() => {})
  return new Kysely<Database>({ dialect: new PGliteDialect({ pglite }) })
}

/**
 * The URL as separate pool settings, for a password function: pg lets everything it parses
 * from a connection string win, and a URL without a password parses to an empty one, which
 * would replace the function. The URL's other parameters (application_name …) are passed on.
 */
function urlFields(url: URL, password: () => Promise<string>): pg.PoolConfig {
  return {
    ...Object.fromEntries(url.searchParams),
    host: decodeURIComponent(url.hostname.replace(/^\[(.*)\]$/, '$1')),
    ...(url.port ? { port: Number(url.port) } : {}),
    database: decodeURIComponent(url.pathname.slice(1)) || undefined,
    user: decodeURIComponent(url.username),
    password,
  }
}
/**
 * Begins a statement that must be planned afresh on every run, for the size its tables have
 * then: pg sends it unnamed (see prepareStatements). For statements that run rarely and whose
 * tables swing between empty and large (the sales queue), where a plan cached at one size is
 * ruinous at the other.
 */
export const PLAN_EACH_RUN = '/* planned on every run */'

const dml = /^\s*(select|insert|update|delete|with)\b/i
const names = new Map<string, string>()

/**
 * Kysely sends every query as text with parameters, which PostgreSQL parses and plans anew
 * each time. Naming each distinct text makes pg prepare it once per connection and reuse the
 * plan: the service has a small fixed set of statements, and planning was most of the cost of
 * a lookup (0.5 ms of 0.8 ms). DDL and other utility statements are sent as they are.
 */
function prepareStatements(client: pg.PoolClient): void {
  const query = client.query.bind(client) as (...args: unknown[]) => unknown
  client.query = ((text: unknown, values?: unknown) => {
    if (typeof text !== 'string' || !Array.isArray(values) || !dml.test(text))
      return query(text, values)
    let name = names.get(text)
    if (!name) {
      name = `k${createHash('sha1').update(text).digest('base64url').slice(0, 20)}`
      names.set(text, name)
    }
    return query({ name, text, values })
  }) as typeof client.query
}
