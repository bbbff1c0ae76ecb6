import { loadConfig } from '../config.ts'
import { serializeError } from '../plugins/logging.ts'
import { connect } from './connect.ts'
import { prepareEmbeddedDatabase } from './embedded.ts'
import { databasePassword } from './entra.ts'
import { prepareSchema } from './prepare-schema.ts'
import { explainConnectionError } from './tls.ts'

// `npm run migrate`: applies pending migrations as prepare-schema.ts says: through
// MIGRATION_DATABASE_URL (the owner) when set, granting DATABASE_URL's role its privileges;
// else through DATABASE_URL (or the embedded database).
const config = loadConfig()
if (!config.DATABASE_URL) {
  await prepareEmbeddedDatabase(config.DATA_DIR, (dataDir) =>
    console.log(`Creating the embedded database in ${dataDir} …`),
  )
}
const db = connect({
  databaseUrl: config.DATABASE_URL,
  dataDir: config.DATA_DIR,
  poolSize: 1,
  caFile: config.DATABASE_CA_FILE,
  password: databasePassword(config),
})
try {
  const applied = await prepareSchema(db, config)
  console.log(applied.length > 0 ? `Applied: ${applied.join(', ')}` : 'Already up to date.')
} catch (err) {
  const { type, message, code } = serializeError(explainConnectionError(err))
  console.error(`Migration failed: ${type}${code ? ` ${code}` : ''}: ${message}`)
  process.exitCode = 1
} finally {
  await db.destroy()
}
