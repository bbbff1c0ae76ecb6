import { parseArgs } from 'node:util'
import type { Kysely } from 'kysely'
import { type Config, ConfigError, loadConfig } from '../config.ts'
import { connect, prepareEmbeddedDatabase } from '../db/connect.ts'
import { migrateToLatest } from '../db/migrate.ts'
import type { Database } from '../db/schema.ts'
import { serializeError } from '../plugins/logging.ts'
import { hashPassword, maxPasswordLength, minPasswordLength } from './passwords.ts'
import {
  disableStaff,
  findStaffByEmail,
  insertStaff,
  insertToken,
  type Role,
  roles,
} from './queries.ts'
import { digest, newSecret } from './secrets.ts'

/**
 * `npm run staff -- <command>` (in the container: `node src/staff/cli.ts <command>`), against
 * DATABASE_URL or the embedded database in DATA_DIR (which only one process can open: stop the
 * service first). It lives in src/ so that it ships in the image: ops run it where the service
 * runs, with the same settings.
 *
 *   add <email> --role staff|admin   password from STAFF_PASSWORD, else a prompt without echo
 *                                    (or one line on standard input when it is not a terminal)
 *   disable <email>                  ends the account's sessions; its tokens stop working
 *   token <email>                    prints a new API token once (only its SHA-256 is kept)
 *
 * Exit codes: 0 done, 1 refused or failed (one line on stderr says why), 2 bad usage.
 */

const usage = `Usage: npm run staff -- add <email> --role staff|admin
       npm run staff -- disable <email>
       npm run staff -- token <email>`

class UsageError extends Error {}
class Refused extends Error {}

const emailPattern = /^[^@\s]+@[^@\s]+$/

/** Reads a password from the terminal without echoing it (raw mode: each key as it comes). */
function promptHidden(question: string): Promise<string> {
  const stdin = process.stdin
  process.stderr.write(question)
  stdin.setRawMode(true)
  stdin.resume()
  stdin.setEncoding('utf8')
  let typed = ''
  return new Promise((resolve, reject) => {
    const done = (err?: Error) => {
      stdin.off('data', onData)
      stdin.setRawMode(false)
      stdin.pause()
      process.stderr.write('\n')
      err ? reject(err) : resolve(typed)
    }
    const onData = (chunk: string) => {
      for (const ch of chunk) {
        if (ch === '\r' || ch === '\n' || ch === '\u0004') return done()
        if (ch === '\u0003') return done(new Refused('Cancelled.'))
        if (ch === '\u007f' || ch === '\b') typed = typed.slice(0, -1)
        else typed += ch
      }
    }
    stdin.on('data', onData)
  })
}

/** The first line of standard input (a password piped in by a script). */
async function readLine(): Promise<string> {
  let text = ''
  for await (const chunk of process.stdin) {
    text += chunk
    if (text.includes('\n')) break
  }
  return text.split(/\r?\n/)[0] ?? ''
}

/** The new account's password: STAFF_PASSWORD, a prompt typed twice, or a piped line. */
async function newPassword(): Promise<string> {
  let password = process.env.STAFF_PASSWORD
  if (password === undefined) {
    if (process.stdin.isTTY) {
      password = await promptHidden('Password: ')
      if ((await promptHidden('Password again: ')) !== password) {
        throw new Refused('The two passwords differ.')
      }
    } else {
      password = await readLine()
    }
  }
  if (password.length < minPasswordLength || password.length > maxPasswordLength) {
    throw new Refused(
      `The password must be ${minPasswordLength} to ${maxPasswordLength} characters long.`,
    )
  }
  return password
}

async function add(db: Kysely<Database>, email: string, role: Role) {
  const password = await newPassword()
  const id = await insertStaff(db, { email, role, passwordHash: await hashPassword(password) })
  if (id === undefined) throw new Refused(`A staff account with the e-mail ${email} exists.`)
  console.log(`Added ${email} as ${role}.`)
}

async function disable(db: Kysely<Database>, email: string) {
  if (!(await disableStaff(db, email)))
    throw new Refused(`No staff account has the e-mail ${email}.`)
  console.log(`Disabled ${email}: their sessions have ended and their tokens no longer work.`)
}

async function token(db: Kysely<Database>, email: string) {
  const account = await findStaffByEmail(db, email)
  if (!account) throw new Refused(`No staff account has the e-mail ${email}.`)
  if (account.disabled) throw new Refused(`${email} is disabled.`)
  const value = newSecret()
  await insertToken(db, account.id, digest(value))
  console.error(
    `A new API token for ${account.email} (${account.role}). It is shown once: keep it now.`,
  )
  console.error('Send it as the header  Authorization: Bearer <token>')
  console.log(value)
}

/** The command line as [command, email, role]; throws UsageError. */
function parse(argv: string[]): { command: string; email: string; role: Role } {
  const { positionals, values } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { role: { type: 'string' } },
  })
  const [command, email, ...rest] = positionals
  if (!command || !['add', 'disable', 'token'].includes(command) || !email || rest.length > 0) {
    throw new UsageError(usage)
  }
  if (!emailPattern.test(email.trim())) throw new UsageError(`Not an e-mail address: ${email}`)
  const role = values.role ?? (command === 'add' ? undefined : 'staff')
  if (!role || !roles.includes(role as Role))
    throw new UsageError(`--role must be staff or admin\n${usage}`)
  if (command !== 'add' && values.role) throw new UsageError(`--role goes with add only\n${usage}`)
  return { command, email: email.trim(), role: role as Role }
}

async function main(argv: string[], config: Config) {
  const { command, email, role } = parse(argv)
  if (!config.DATABASE_URL) await prepareEmbeddedDatabase(config.DATA_DIR)
  const db = connect({ databaseUrl: config.DATABASE_URL, dataDir: config.DATA_DIR, poolSize: 1 })
  try {
    await migrateToLatest(db)
    if (command === 'add') await add(db, email, role)
    else if (command === 'disable') await disable(db, email)
    else await token(db, email)
  } finally {
    await db.destroy()
  }
}

try {
  await main(process.argv.slice(2), loadConfig())
} catch (err) {
  if (err instanceof UsageError) {
    console.error(err.message)
    process.exitCode = 2
  } else if (err instanceof Refused || err instanceof ConfigError) {
    console.error(err.message)
    process.exitCode = 1
  } else {
    const { type, message, code } = serializeError(err)
    console.error(`Failed: ${type}${code ? ` ${code}` : ''}: ${message}`)
    process.exitCode = 1
  }
}
