import type { Readable } from 'node:stream'
import type { Kysely } from 'kysely'
import { type Config, ConfigError, loadConfig } from '../config.ts'
import { commandDatabase, commandFailure } from '../db/command.ts'
import { commandCreatesNotice, prepareEmbeddedDatabase } from '../db/embedded.ts'
import { prepareSchema } from '../db/prepare-schema.ts'
import type { Database } from '../db/schema.ts'
import { echoSafe } from '../text.ts'
import { changeStaff, disableStaff, emailTaken } from './accounts.ts'
import { HelpAsked, help, parseStaffArgs, UsageError, usage } from './cli-args.ts'
import { resetPassword } from './password-change.ts'
import { hashPassword, passwordProblem, passwordsDiffer, shopWords } from './passwords.ts'
import { findStaffByEmail, insertStaff, type Role } from './queries.ts'
import { createToken, revokeToken, tokensOf } from './tokens.ts'

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
 *   enable <email>                   lets a disabled account sign in again (its old tokens stay
 *                                    revoked)
 *   password <email>                 sets a new password (read as add reads it) and ends the
 *                                    account's sessions
 *   token <email>                    prints a new API token once (only its SHA-256 is kept)
 *   tokens <email>                   lists the account's tokens: id, created, last used, revoked
 *   revoke <token-id>                revokes one token (an id from `tokens`)
 *
 *   --help, -h                       prints the usage on stdout (exit 0)
 *
 * Exit codes: 0 done, 1 refused or failed (one line on stderr says why), 2 bad usage (a line
 * with the reason, then the usage).
 *
 * `runStaff` is the whole command behind the process: run as a script, this file calls it with
 * the process's arguments, environment and streams; the tests call it in the test process too
 * (test/staff/cli.test.ts), where a child process per command would cost a Node start and an
 * embedded database opening each.
 */

/** The command was understood and declined (exit 1): the message says why. */
class Refused extends Error {}

/**
 * Where one run reads and writes: standard input (a terminal, when `isTTY`, is prompted without
 * echo) and the two output streams (text as given; the commands end their lines with \n).
 */
export interface StaffIo {
  stdin: Readable & { isTTY?: boolean; setRawMode?: (raw: boolean) => unknown }
  stdout: { write: (text: string) => unknown }
  stderr: { write: (text: string) => unknown }
}

/** Reads a password from the terminal without echoing it (raw mode: each key as it comes). */
function promptHidden(io: StaffIo, question: string): Promise<string> {
  const { stdin, stderr } = io
  const setRawMode = (raw: boolean) => stdin.setRawMode?.(raw)
  stderr.write(question)
  setRawMode(true)
  stdin.resume()
  stdin.setEncoding('utf8')
  let typed = ''
  return new Promise((resolve, reject) => {
    const done = (err?: Error) => {
      stdin.off('data', onData)
      setRawMode(false)
      stdin.pause()
      stderr.write('\n')
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
async function readLine(stdin: Readable): Promise<string> {
  let text = ''
  for await (const chunk of stdin) {
    text += chunk
    if (text.includes('\n')) break
  }
  return text.split(/\r?\n/)[0] ?? ''
}

/**
 * A new password (add, password) for the account of `email`: STAFF_PASSWORD, a prompt typed
 * twice, or a piped line; refused by the rule of passwords.ts.
 */
async function newPassword({ env, io, shop }: Run, email: string): Promise<string> {
  // Empty is unset, as for the settings (config.ts): a .env loaded into the shell may hold
  // `STAFF_PASSWORD=`, and the command is then run in a terminal to type the password.
  let password = env.STAFF_PASSWORD || undefined
  if (password === undefined) {
    if (io.stdin.isTTY) {
      password = await promptHidden(io, 'Password: ')
      if ((await promptHidden(io, 'Password again: ')) !== password) {
        throw new Refused(passwordsDiffer)
      }
    } else {
      password = await readLine(io.stdin)
    }
  }
  if (password === '')
    throw new Refused(
      'No password was given: set STAFF_PASSWORD, run the command in a terminal to type it, or pipe it in as one line.',
    )
  const problem = await passwordProblem(password, { email, shop })
  if (problem) throw new Refused(problem)
  return password
}

type Env = Record<string, string | undefined>

/** One run's database, environment and output. */
interface Run {
  db: Kysely<Database>
  env: Env
  io: StaffIo
  /** The shop's words a password must not be built on (shopWords). */
  shop: readonly string[]
  /** Writes one line to standard output. */
  out: (line: string) => void
  /** Writes one line to standard error. */
  err: (line: string) => void
}

async function add(run: Run, email: string, role: Role) {
  const { db, out } = run
  const password = await newPassword(run, email)
  const id = await insertStaff(db, { email, role, passwordHash: await hashPassword(password) })
  if (id === undefined) throw new Refused(await emailTaken(db, email))
  out(`Added ${email} as ${role}.`)
}

const noAccount = (email: string) => `No staff account has the e-mail ${email}.`

async function disable({ db, out }: Run, email: string) {
  const outcome = await disableStaff(db, { email })
  if (outcome.kind === 'not-found') throw new Refused(noAccount(email))
  if (outcome.kind !== 'changed') throw new Refused(outcome.message)
  // The account as stored, not as typed (found in any case).
  out(`Disabled ${outcome.email}: their sessions have ended and their tokens are revoked.`)
}

async function enable({ db, out }: Run, email: string) {
  const outcome = await changeStaff(db, { email }, { disabled: false })
  if (outcome.kind === 'not-found') throw new Refused(noAccount(email))
  if (outcome.kind !== 'changed') throw new Refused(outcome.message)
  out(`Enabled ${outcome.email}: they can sign in again; tokens revoked before stay revoked.`)
}

async function password(run: Run, email: string) {
  const { db, out } = run
  const typed = await newPassword(run, email)
  const account = await resetPassword(db, { email }, await hashPassword(typed))
  if (!account) throw new Refused(noAccount(email))
  const still = account.disabled ? ' The account is still disabled: `enable` it to sign in.' : ''
  out(`New password set for ${account.email}: their sessions have ended.${still}`)
}

async function token({ db, out, err }: Run, email: string) {
  const outcome = await createToken(db, { email })
  if (outcome.kind === 'not-found') throw new Refused(noAccount(email))
  if (outcome.kind === 'disabled') throw new Refused(outcome.message)
  err(
    `A new API token (id ${outcome.summary.id}) for ${outcome.email} (${outcome.role}). It is shown once: keep it now.`,
  )
  err('Send it as the header  Authorization: Bearer <token>')
  out(outcome.token)
}

/** One line per token, newest first, columns aligned: id, created, last used, revoked. */
async function tokens({ db, out, err }: Run, email: string) {
  const account = await findStaffByEmail(db, email)
  if (!account) throw new Refused(noAccount(email))
  const list = await tokensOf(db, account.id)
  if (list.length === 0) {
    err(`${account.email} has no API tokens.`)
    return
  }
  const rows = [
    ['id', 'created', 'last used', 'revoked'],
    ...list.map((t) => [String(t.id), t.createdAt, t.lastUsedAt ?? 'never', t.revokedAt ?? 'no']),
  ]
  const widths = [0, 1, 2].map((i) => Math.max(...rows.map((r) => (r[i] as string).length)))
  for (const r of rows) {
    out(
      r
        .map((cell, i) => (i < 3 ? cell.padEnd(widths[i] as number) : cell))
        .join('  ')
        .trimEnd(),
    )
  }
}

async function revoke({ db, out }: Run, typed: string) {
  // A token's id is an int column (serial): past 2^31 - 1 none exists.
  const tokenId = BigInt(typed) <= 2_147_483_647n ? Number(typed) : undefined
  const revoked = tokenId === undefined ? undefined : await revokeToken(db, tokenId)
  if (!revoked || tokenId === undefined) throw new Refused(`No API token has the id ${typed}.`)
  out(`Revoked token ${tokenId} (at ${revoked.revokedAt}): it no longer works.`)
}

async function main(argv: string[], config: Config, env: Env, io: StaffIo) {
  const { command, email, role } = parseStaffArgs(argv)
  if (!config.DATABASE_URL) {
    await prepareEmbeddedDatabase(config.DATA_DIR, (dataDir) =>
      io.stderr.write(`${commandCreatesNotice(dataDir)}\n`),
    )
  }
  const db = commandDatabase(config)
  const run: Run = {
    db,
    env,
    io,
    shop: shopWords(config),
    out: (line) => io.stdout.write(`${line}\n`),
    err: (line) => io.stderr.write(`${line}\n`),
  }
  try {
    await prepareSchema(db, config)
    if (command === 'add') await add(run, email, role)
    else if (command === 'disable') await disable(run, email)
    else if (command === 'enable') await enable(run, email)
    else if (command === 'password') await password(run, email)
    else if (command === 'token') await token(run, email)
    else if (command === 'tokens') await tokens(run, email)
    else await revoke(run, email)
  } finally {
    await db.destroy()
  }
}

/**
 * One `npm run staff -- <argv…>`: the settings from `env` (as `loadConfig` reads them; the
 * password from its STAFF_PASSWORD), standard input and output from `io`. Resolves with the exit
 * code (0 done, 1 refused or failed, 2 bad usage: the reason on `io.stderr`); never rejects.
 */
export async function runStaff(argv: string[], env: Env, io: StaffIo): Promise<0 | 1 | 2> {
  // Undefined until the settings load (a ConfigError says what is wrong with them).
  let config: Config | undefined
  try {
    // The command line first: --help and bad usage need no settings.
    parseStaffArgs(argv)
    config = loadConfig(env)
    await main(argv, config, env, io)
    return 0
  } catch (err) {
    if (err instanceof HelpAsked) {
      io.stdout.write(`${help}\n`)
      return 0
    }
    // What was typed comes back in the message: a bidi override or a control in it would turn
    // the terminal's line around or hide part of it (echoSafe names such characters instead).
    if (err instanceof UsageError) {
      // The usage is ours and prints as its lines: echoSafe would name each line break (`\u{A}`).
      const reason =
        err.message === usage
          ? ''
          : err.message.endsWith(`\n${usage}`)
            ? err.message.slice(0, -usage.length - 1)
            : err.message
      const lines = [reason && echoSafe(reason), reason !== err.message && usage]
      io.stderr.write(`${lines.filter(Boolean).join('\n')}\n`)
      return 2
    }
    if (err instanceof Refused || err instanceof ConfigError) {
      io.stderr.write(`${echoSafe(err.message)}\n`)
      return 1
    }
    io.stderr.write(`Failed: ${commandFailure(err, config)}\n`)
    return 1
  }
}

if (import.meta.main) {
  process.exitCode = await runStaff(process.argv.slice(2), process.env, process)
}
