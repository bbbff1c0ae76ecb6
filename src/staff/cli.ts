import { parseArgs } from 'node:util'
import type { Kysely } from 'kysely'
import { type Config, ConfigError, loadConfig } from '../config.ts'
import { connect, prepareEmbeddedDatabase } from '../db/connect.ts'
import { databasePassword } from '../db/entra.ts'
import { prepareSchema } from '../db/prepare-schema.ts'
import type { Database } from '../db/schema.ts'
import { serializeError } from '../plugins/logging.ts'
import {
  createToken,
  disableStaff,
  emailTaken,
  isEmailAddress,
  revokeToken,
  tokensOf,
} from './accounts.ts'
import { hashPassword, passwordProblem } from './passwords.ts'
import { findStaffByEmail, insertStaff, type Role, roles } from './queries.ts'

/**
 * `npm run staff -- <command>` (in the container: `node src/staff/cli.ts <command>`), against
 * DATABASE_URL or the embedded database in DATA_DIR (which only one process can open: stop the
 * service first). It lives in src/ so that it ships in the image: ops run it where the service
 * runs, with the same settings.
 *
 *   add <email> --role staff|admin   password from STAFF_PASSWORD, else a prompt without echo
 *                                    (or one line on standard input when it is not a terminal)
 *   disable <email>                  ends the account's sessions and revokes its tokens (refused
 *                                    for the last enabled admin)
 *   token <email>                    prints a new API token once (only its SHA-256 is kept)
 *   tokens <email>                   lists the account's tokens: id, created, last used, revoked
 *   revoke <token-id>                revokes one token (an id from `tokens`)
 *
 * Exit codes: 0 done, 1 refused or failed (one line on stderr says why), 2 bad usage.
 */

const usage = `Usage: npm run staff -- add <email> --role staff|admin
       npm run staff -- disable <email>
       npm run staff -- token <email>
       npm run staff -- tokens <email>
       npm run staff -- revoke <token-id>`

class UsageError extends Error {}
class Refused extends Error {}

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
  const problem = passwordProblem(password)
  if (problem) throw new Refused(problem)
  return password
}

async function add(db: Kysely<Database>, email: string, role: Role) {
  const password = await newPassword()
  const id = await insertStaff(db, { email, role, passwordHash: await hashPassword(password) })
  if (id === undefined) throw new Refused(emailTaken(email))
  console.log(`Added ${email} as ${role}.`)
}

const noAccount = (email: string) => `No staff account has the e-mail ${email}.`

async function disable(db: Kysely<Database>, email: string) {
  const outcome = await disableStaff(db, { email })
  if (outcome.kind === 'not-found') throw new Refused(noAccount(email))
  if (outcome.kind !== 'changed') throw new Refused(outcome.message)
  console.log(`Disabled ${email}: their sessions have ended and their tokens are revoked.`)
}

async function token(db: Kysely<Database>, email: string) {
  const outcome = await createToken(db, { email })
  if (outcome.kind === 'not-found') throw new Refused(noAccount(email))
  if (outcome.kind === 'disabled') throw new Refused(outcome.message)
  console.error(
    `A new API token (id ${outcome.summary.id}) for ${outcome.email} (${outcome.role}). It is shown once: keep it now.`,
  )
  console.error('Send it as the header  Authorization: Bearer <token>')
  console.log(outcome.token)
}

/** One line per token, newest first, columns aligned: id, created, last used, revoked. */
async function tokens(db: Kysely<Database>, email: string) {
  const account = await findStaffByEmail(db, email)
  if (!account) throw new Refused(noAccount(email))
  const list = await tokensOf(db, account.id)
  if (list.length === 0) {
    console.error(`${account.email} has no API tokens.`)
    return
  }
  const rows = [
    ['id', 'created', 'last used', 'revoked'],
    ...list.map((t) => [String(t.id), t.createdAt, t.lastUsedAt ?? 'never', t.revokedAt ?? 'no']),
  ]
  const widths = [0, 1, 2].map((i) => Math.max(...rows.map((r) => (r[i] as string).length)))
  for (const r of rows) {
    console.log(
      r
        .map((cell, i) => (i < 3 ? cell.padEnd(widths[i] as number) : cell))
        .join('  ')
        .trimEnd(),
    )
  }
}

async function revoke(db: Kysely<Database>, tokenId: number) {
  const revoked = await revokeToken(db, tokenId)
  if (!revoked) throw new Refused(`No API token has the id ${tokenId}.`)
  console.log(`Revoked token ${tokenId} (at ${revoked.revokedAt}): it no longer works.`)
}

const commands = ['add', 'disable', 'token', 'tokens', 'revoke']

/** The command line as {command, email, role} (revoke: the token's id in `email`); throws UsageError. */
function parse(argv: string[]): { command: string; email: string; role: Role } {
  const { positionals, values } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { role: { type: 'string' } },
  })
  const [command, email, ...rest] = positionals
  if (!command || !commands.includes(command) || !email || rest.length > 0) {
    throw new UsageError(usage)
  }
  if (command === 'revoke') {
    if (!/^[0-9]{1,9}$/.test(email)) throw new UsageError(`Not a token id: ${email}\n${usage}`)
    if (values.role) throw new UsageError(`--role goes with add only\n${usage}`)
    return { command, email, role: 'staff' }
  }
  if (!isEmailAddress(email.trim())) throw new UsageError(`Not an e-mail address: ${email}`)
  const role = values.role ?? (command === 'add' ? undefined : 'staff')
  if (!role || !roles.includes(role as Role))
    throw new UsageError(`--role must be staff or admin\n${usage}`)
  if (command !== 'add' && values.role) throw new UsageError(`--role goes with add only\n${usage}`)
  return { command, email: email.trim(), role: role as Role }
}

async function main(argv: string[], config: Config) {
  const { command, email, role } = parse(argv)
  if (!config.DATABASE_URL) await prepareEmbeddedDatabase(config.DATA_DIR)
  const db = connect({
    databaseUrl: config.DATABASE_URL,
    dataDir: config.DATA_DIR,
    poolSize: 1,
    caFile: config.DATABASE_CA_FILE,
    password: databasePassword(config),
  })
  try {
    await prepareSchema(db, config)
    if (command === 'add') await add(db, email, role)
    else if (command === 'disable') await disable(db, email)
    else if (command === 'token') await token(db, email)
    else if (command === 'tokens') await tokens(db, email)
    else await revoke(db, Number(email))
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
