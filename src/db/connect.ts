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
}

export function connect({ databaseUrl, dataDir, poolSize = 10 }: ConnectOptions): Kysely<Database> {
  if (databaseUrl) {
    const pool = new pg.Pool({ connectionString: databaseUrl, max: poolSize })
    // An idle client that loses its server emits 'error'; without a listener that kills the process.
    pool.on('error', () => {})
    return new Kysely<Database>({ dialect: new PostgresDialect({ pool }) })
  }
  if (!dataDir.startsWith('memory://')) mkdirSync(dataDir, { recursive: true })
  return new Kysely<Database>({ dialect: new PGliteDialect({ pglite: new PGlite(dataDir) }) })
}
