import { parseArgs } from 'node:util'
import { sql } from 'kysely'
import { type Config, ConfigError, loadConfig } from '../config.ts'
import { commandDatabase, commandFailure } from './command.ts'
import { prepareEmbeddedDatabase } from './embedded.ts'
import { prepareSchema, userOf } from './prepare-schema.ts'

// `npm run migrate`: applies pending migrations as prepare-schema.ts says: through
// MIGRATION_DATABASE_URL (the owner) when set, granting DATABASE_URL's role its privileges;
// else through DATABASE_URL (or the embedded database). Whatever stops it (a bad setting, an
// embedded folder in use by another process, a failed migration) is one line on stderr
// (`Invalid configuration: …` for a setting, `Migration failed: …` for the rest) and
// exit code 1, as `npm run staff` does, never an uncaught stack. It takes no arguments but
// --help (-h: the usage on stdout, exit 0, the database untouched); anything else is exit 2.

const usage = `Usage: npm run migrate
Applies the pending migrations to DATABASE_URL's database (through MIGRATION_DATABASE_URL when
set), or to the embedded database in DATA_DIR (stop the service first), and exits.`

async function migrate(config: Config): Promise<void> {
  if (!config.DATABASE_URL) {
    await prepareEmbeddedDatabase(config.DATA_DIR, (dataDir) =>
      console.log(`Creating the embedded database in ${dataDir} …`),
    )
  }
  const db = commandDatabase(config)
  try {
    const applied = await prepareSchema(db, config)
    // Migrated through the owner's URL: the service's must see those tables, or the two name
    // different databases (the start would stop on the first query; commandFailure says which).
    if (config.MIGRATION_DATABASE_URL && config.DATABASE_URL)
      await sql`select from products limit 0`.execute(db)
    console.log(applied.length > 0 ? `Applied: ${applied.join(', ')}` : 'Already up to date.')
    // prepareSchema grants it on every run, changes or none: so an operator can tell it did.
    const role = config.MIGRATION_DATABASE_URL && config.DATABASE_URL && userOf(config.DATABASE_URL)
    if (role && role !== userOf(config.MIGRATION_DATABASE_URL as string))
      console.log(`Granted ${role} (the user in DATABASE_URL) what serving needs.`)
  } finally {
    await db.destroy()
  }
}

/** The command line's verdict: run, print the usage, or refuse it (the reason). */
function parse(argv: string[]): 'run' | 'help' | { refused: string } {
  const { tokens } = parseArgs({ args: argv, strict: false, allowPositionals: true, tokens: true })
  for (const token of tokens) {
    if (token.kind === 'option' && token.name === 'help' && token.value === undefined) continue
    if (token.kind === 'option' && token.rawName === '-h' && token.value === undefined) continue
    if (token.kind === 'option') return { refused: `Unknown option '${token.rawName}'` }
    if (token.kind === 'positional') return { refused: `Unexpected argument '${token.value}'` }
  }
  return tokens.some((t) => t.kind === 'option') ? 'help' : 'run'
}

const verdict = parse(process.argv.slice(2))
if (verdict === 'help') console.log(usage)
else if (verdict !== 'run') {
  console.error(`${verdict.refused}: npm run migrate takes no arguments.\n${usage}`)
  process.exitCode = 2
} else {
  let config: Config | undefined
  try {
    config = loadConfig()
    await migrate(config)
  } catch (err) {
    // A setting refused is one line of its own (`Invalid configuration: …`), as at the
    // service's start: under "Migration failed: " the line said the failure twice.
    if (err instanceof ConfigError) console.error(err.message)
    else console.error(`Migration failed: ${commandFailure(err, config)}`)
    process.exitCode = 1
  }
}
