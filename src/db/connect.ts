import { createHash } from 'node:crypto'
import { mkdirSync } from 'node:fs'
import { PGlite } from '@electric-sql/pglite'
import { Kysely, PGliteDialect, PostgresDialect } from 'kysely'
import pg from 'pg'
import type { Database } from './schema.ts'

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
}

const pools = new WeakMap<Kysely<Database>, pg.Pool>()

/** The pg pool behind a PostgreSQL connection (for its gauges); undefined for PGlite. */
export const poolOf = (db: Kysely<Database>): pg.Pool | undefined => pools.get(db)

export function connect({
  databaseUrl,
  dataDir,
  poolSize = 10,
  connectTimeoutMs,
  statementTimeoutMs,
}: ConnectOptions): Kysely<Database> {
  if (databaseUrl) {
    const pool = new pg.Pool({
      connectionString: databaseUrl,
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
  if (!dataDir.startsWith('memory://')) mkdirSync(dataDir, { recursive: true })
  return new Kysely<Database>({ dialect: new PGliteDialect({ pglite: new PGlite(dataDir) }) })
}

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
