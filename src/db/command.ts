import type { Config } from '../config.ts'
import { connect } from './connect.ts'
import { databasePassword } from './entra.ts'

/**
 * The database of a one-shot command (`npm run migrate`, `npm run staff`): the service's
 * settings, one connection. The embedded folder must be prepared (prepareEmbeddedDatabase) first.
 */
export const commandDatabase = (config: Config) =>
  connect({
    databaseUrl: config.DATABASE_URL,
    dataDir: config.DATA_DIR,
    poolSize: 1,
    caFile: config.DATABASE_CA_FILE,
    password: databasePassword(config),
  })
