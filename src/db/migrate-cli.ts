import { loadConfig } from '../config.ts'
import { connect } from './connect.ts'
import { migrateToLatest } from './migrate.ts'

// `npm run migrate`: applies pending migrations to DATABASE_URL (or the embedded database).
const config = loadConfig()
const db = connect({ databaseUrl: config.DATABASE_URL, dataDir: config.DATA_DIR, poolSize: 1 })
try {
  const applied = await migrateToLatest(db)
  console.log(applied.length > 0 ? `Applied: ${applied.join(', ')}` : 'Already up to date.')
} catch (err) {
  console.error(`Migration failed: ${(err as Error).message}`)
  process.exitCode = 1
} finally {
  await db.destroy()
}
