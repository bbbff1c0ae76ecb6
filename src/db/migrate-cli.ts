import { loadConfig } from '../config.ts'
import { serializeError } from '../plugins/logging.ts'
import { commandDatabase } from './command.ts'
import { prepareEmbeddedDatabase } from './embedded.ts'
import { prepareSchema } from './prepare-schema.ts'
import { explainConnectionError } from './tls.ts'

// `npm run migrate`: applies pending migrations as prepare-schema.ts says: through
// MIGRATION_DATABASE_URL (the owner) when set, granting DATABASE_URL's role its privileges;
// else through DATABASE_URL (or the embedded database). Whatever stops it (a bad setting, an
// embedded folder in use by another process, a failed migration) is one line on stderr and
// exit code 1, as `npm run staff` does, never an uncaught stack.
async function migrate(): Promise<void> {
  const config = loadConfig()
  if (!config.DATABASE_URL) {
    await prepareEmbeddedDatabase(config.DATA_DIR, (dataDir) =>
      console.log(`Creating the embedded database in ${dataDir} …`),
    )
  }
  const db = commandDatabase(config)
  try {
    const applied = await prepareSchema(db, config)
    console.log(applied.length > 0 ? `Applied: ${applied.join(', ')}` : 'Already up to date.')
  } finally {
    await db.destroy()
  }
}

try {
  await migrate()
} catch (err) {
  const { type, message, code } = serializeError(explainConnectionError(err))
  console.error(`Migration failed: ${type}${code ? ` ${code}` : ''}: ${message}`)
  process.exitCode = 1
}
