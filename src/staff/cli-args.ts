import { parseArgs } from 'node:util'
import { emailMessage, isEmailAddress, isEmailShape } from '../email.ts'
import { type Role, roles } from './queries.ts'

// The command line of `npm run staff` (src/staff/cli.ts): read and checked here, so that every
// refusal is one line in our words followed by the usage.

export const usage = `Usage: npm run staff -- add <email> --role staff|admin
       npm run staff -- disable <email>
       npm run staff -- enable <email>
       npm run staff -- password <email>
       npm run staff -- token <email>
       npm run staff -- tokens <email>
       npm run staff -- revoke <token-id>
       npm run staff -- --help`

/** What --help prints: the usage, then where the command works and what it answers. */
export const help = `${usage}

Works on DATABASE_URL's database, or on the embedded database in DATA_DIR (stop the service
first: one process at a time). The password of add and password: STAFF_PASSWORD, else typed at
a prompt (no echo), else one line piped in. Exit codes: 0 done, 1 refused or failed, 2 bad usage.`

/** A command line the command cannot run: the message is the reason, then the usage. */
export class UsageError extends Error {}
/** --help was asked for: the usage goes to stdout, exit 0. */
export class HelpAsked extends Error {}

const commands = ['add', 'disable', 'enable', 'password', 'token', 'tokens', 'revoke']

/** A word of the command line as the reason quotes it: 'bogus' (control characters escaped). */
const quoted = (word: string) => `'${JSON.stringify(word).slice(1, -1)}'`

/**
 * Why an option given more than once is refused (`npm run staff`, `npm run mail`): one value
 * would silently win over the others. `--role given 2 times ('staff', 'admin'): give it once`.
 */
export const givenTwice = (option: string, values: string[]) =>
  `${option} given ${values.length} times (${values.map(quoted).join(', ')}): give it once`

/** Why an option is refused: one line in our words (parseArgs' own advice fails under npm). */
function optionProblem(rawName: string, name: string, value: string | undefined): string {
  if (name === 'role' && value === undefined) return '--role needs a value: staff or admin'
  if (name === 'help') return '--help takes no value'
  const id = /^-[0-9]+$/.test(rawName)
    ? ' (a token id is a whole number, as `tokens` lists it)'
    : ''
  return `Unknown option ${quoted(rawName)}: the options are --role (with add) and --help${id}`
}

/**
 * The command line as {command, email, role} (revoke: the token's id in `email`); throws
 * UsageError, or HelpAsked for --help / -h anywhere on it.
 */
export function parseStaffArgs(argv: string[]): { command: string; email: string; role: Role } {
  // Not strict: the tokens are checked here, so every refusal is a sentence of ours.
  const { tokens } = parseArgs({
    args: argv,
    strict: false,
    allowPositionals: true,
    tokens: true,
    options: { role: { type: 'string', multiple: true }, help: { type: 'boolean', short: 'h' } },
  })
  const positionals: string[] = []
  // Every --role kept, so a second one is refused rather than silently winning.
  const roleValues: string[] = []
  let problem: string | undefined
  for (const token of tokens) {
    if (token.kind === 'positional') positionals.push(token.value)
    if (token.kind !== 'option') continue
    const { name, rawName, value } = token
    if (name === 'help' && value === undefined) throw new HelpAsked()
    if (name === 'role' && value !== undefined) roleValues.push(value)
    else problem ??= optionProblem(rawName, name, value)
  }
  if (problem) throw new UsageError(`${problem}\n${usage}`)
  if (roleValues.length > 1) throw new UsageError(`${givenTwice('--role', roleValues)}\n${usage}`)
  const values = { role: roleValues[0] }
  const [command, email, ...rest] = positionals
  if (!command)
    throw new UsageError(
      `No command given: use add, disable, enable, password, token, tokens or revoke\n${usage}`,
    )
  if (!commands.includes(command))
    throw new UsageError(
      `Unknown command ${quoted(command)}: use add, disable, enable, password, token, tokens or revoke\n${usage}`,
    )
  if (!email)
    throw new UsageError(
      `${command} needs ${command === 'revoke' ? '<token-id>' : '<email>'}\n${usage}`,
    )
  if (rest.length > 0)
    throw new UsageError(`Too many arguments: ${rest.map(quoted).join(' ')}\n${usage}`)
  if (command === 'revoke') {
    // Any run of digits is an id (docs/back-office.md: an id past the column's range is simply not found).
    if (!/^[0-9]{1,100}$/.test(email)) throw new UsageError(`Not a token id: ${email}\n${usage}`)
    if (values.role) throw new UsageError(`--role goes with add only\n${usage}`)
    return { command, email, role: 'staff' }
  }
  // A new account's e-mail is ASCII (no lookalike of another's); one that names an account is
  // any address, so that an account added before that rule can still be managed.
  if (!(command === 'add' ? isEmailAddress : isEmailShape)(email.trim())) {
    // The form's sentence for it (two @, a space, a domain to write as xn--…), then what was typed.
    throw new UsageError(`${emailMessage(email.trim())} Typed: ${email}\n${usage}`)
  }
  const role = values.role ?? (command === 'add' ? undefined : 'staff')
  if (!role) throw new UsageError(`--role is required: staff or admin\n${usage}`)
  if (!roles.includes(role as Role)) throw new UsageError(`--role must be staff or admin\n${usage}`)
  if (command !== 'add' && values.role) throw new UsageError(`--role goes with add only\n${usage}`)
  return { command, email: email.trim(), role: role as Role }
}
