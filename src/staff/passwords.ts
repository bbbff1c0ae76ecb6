import { argon2, randomBytes, timingSafeEqual } from 'node:crypto'
import type { Config } from '../config.ts'
import { shopName } from '../mail/settings.ts'
import { characterCount } from '../text.ts'
import { guessableInWorker } from './password-check.ts'
import type { PasswordContext } from './password-strength.ts'

/**
 * argon2id with OWASP's first recommended configuration: 19 MiB of memory (m=19456 KiB), 2
 * iterations (t=2), 1 degree of parallelism (p=1). Source: OWASP Password Storage Cheat Sheet,
 * "Argon2id" (https://cheatsheetseries.owasp.org/cheatsheets/Password_Storage_Cheat_Sheet.html).
 * A 16-byte random salt and a 32-byte tag, as RFC 9106 §4 recommends. The parameters are written
 * into every hash (PHC string format), so they can be raised later: old hashes still verify with
 * their own, and needsRehash tells when to store a new one.
 */
export const argon2Parameters = { memory: 19_456, passes: 2, parallelism: 1, tagLength: 32 }

const saltBytes = 16

interface Argon2Hash {
  memory: number
  passes: number
  parallelism: number
  salt: Buffer
  hash: Buffer
}

/** Node 24's argon2id (libuv's thread pool, not the event loop) → the tag. */
function derive(password: string, p: Omit<Argon2Hash, 'hash'>, tagLength: number) {
  return new Promise<Buffer>((resolve, reject) =>
    argon2(
      'argon2id',
      {
        message: password,
        nonce: p.salt,
        memory: p.memory,
        passes: p.passes,
        parallelism: p.parallelism,
        tagLength,
      },
      (err, key) => (err ? reject(err) : resolve(key)),
    ),
  )
}

// PHC uses standard base64 without padding.
const b64 = (bytes: Buffer) => bytes.toString('base64').replace(/=+$/, '')
const phc = /^\$argon2id\$v=19\$m=(\d+),t=(\d+),p=(\d+)\$([A-Za-z0-9+/]+)\$([A-Za-z0-9+/]+)$/

/** `$argon2id$v=19$m=19456,t=2,p=1$<salt>$<tag>`, or undefined when not such a string. */
function parse(encoded: string): Argon2Hash | undefined {
  const m = phc.exec(encoded)
  if (!m) return undefined
  return {
    memory: Number(m[1]),
    passes: Number(m[2]),
    parallelism: Number(m[3]),
    salt: Buffer.from(m[4] as string, 'base64'),
    hash: Buffer.from(m[5] as string, 'base64'),
  }
}

/**
 * The password as it is hashed: Unicode NFKC, so the same visible password typed on another
 * keyboard or system (é as one code point or as e and a combining accent) is the same secret.
 * NIST SP 800-63B §5.1.1.2 asks verifiers to apply NFKC or NFKD before hashing.
 */
const normalised = (password: string) => password.normalize('NFKC')

/**
 * The password's argon2id hash as a PHC string (about 100 ms of one thread-pool thread), of its
 * NFKC form.
 */
export async function hashPassword(password: string): Promise<string> {
  const { memory, passes, parallelism, tagLength } = argon2Parameters
  const salt = randomBytes(saltBytes)
  const hash = await derive(normalised(password), { memory, passes, parallelism, salt }, tagLength)
  return `$argon2id$v=19$m=${memory},t=${passes},p=${parallelism}$${b64(salt)}$${b64(hash)}`
}

/**
 * How a password matched its hash: in its NFKC form, as every hash since 2026-11-30 holds it, or
 * only as typed, as a hash made before passwords were normalised holds it (`as-typed`: store a
 * new hash, so the same visible password typed another way signs in too, and a change to it is
 * seen as no change, samePassword).
 */
export type PasswordMatch = 'normalised' | 'as-typed'

/**
 * Whether `password` matches the PHC string `encoded`, compared in constant time: its NFKC form,
 * and, when that differs, the password as typed; false when neither does. A string that is not
 * an argon2id hash never matches (and throws nothing).
 */
export async function verifyPassword(
  encoded: string,
  password: string,
): Promise<PasswordMatch | false> {
  const stored = parse(encoded)
  if (!stored) return false
  const nfkc = normalised(password)
  const forms: [string, PasswordMatch][] = [[nfkc, 'normalised']]
  if (nfkc !== password) forms.push([password, 'as-typed'])
  for (const [form, match] of forms) {
    const hash = await derive(form, stored, stored.hash.length)
    if (timingSafeEqual(hash, stored.hash)) return match
  }
  return false
}

/**
 * Whether two typed passwords are one secret: equal in the NFKC form that is hashed, so a change
 * to the password already held is caught however it was typed (a fullwidth ｃ for c). Not
 * constant-time: for two strings the same person just typed, never for a stored secret.
 */
export const samePassword = (a: string, b: string): boolean => normalised(a) === normalised(b)

/** Whether a hash was made with other parameters than today's (store a new one at sign-in). */
export function needsRehash(encoded: string): boolean {
  const stored = parse(encoded)
  const { memory, passes, parallelism, tagLength } = argon2Parameters
  return (
    !stored ||
    stored.memory !== memory ||
    stored.passes !== passes ||
    stored.parallelism !== parallelism ||
    stored.hash.length !== tagLength
  )
}

let dummy: Promise<string> | undefined

/**
 * A hash of a random password, with today's parameters: an unknown e-mail is verified against
 * it, so it costs what a wrong password costs and no one learns which addresses have accounts.
 */
export function dummyHash(): Promise<string> {
  dummy ??= hashPassword(randomBytes(32).toString('base64url'))
  return dummy
}

/** Shortest password `staff add` accepts (NIST SP 800-63B §3.1.1.2 asks for 15 without MFA). */
export const minPasswordLength = 15
/** Longest password accepted anywhere: argon2 takes any length, the form should not. */
export const maxPasswordLength = 1024

/** A new password typed twice, differently (`staff add` and `password` at a terminal, the form). */
export const passwordsDiffer = 'The two passwords differ.'

/** What a password too easy to guess is, as the pages' hints and the API's description say it. */
export const guessableRule =
  'not a common password or close to one, nor a keyboard pattern (qwertyuiop), a run (abcdef) or a repeat, nor built on the account’s e-mail address'
/** The start of every refusal of a password as too easy to guess. */
export const guessablePassword = 'That password is too easy to guess'
/** The rule as the pages' password fields show it (minlength, maxlength, the hint). */
export const passwordRule = { minPasswordLength, maxPasswordLength, guessableRule }

/**
 * Characters no one can type at the sign-in form, which a password must not hold: the controls
 * (Unicode Cc: C0 U+0000 to U+001F with tab and newline, DEL U+007F, C1 U+0080 to U+009F),
 * which an input field drops or acts on (a tab moves on, a newline submits), and half of a
 * surrogate pair (Cs: UTF-8 cannot carry it, so no form or terminal sends one). Everything else
 * is taken, as NIST SP 800-63B §5.1.1.2 asks ("all printing ASCII characters as well as the
 * space character", and Unicode): letters of any script, emoji with their joiners, private-use
 * characters some keyboards type (U+F8FF). NFKC (normalised) neither makes nor removes a
 * control, so the typed form is the one checked.
 */
const untypeable = /[\p{Cc}\p{Cs}]/u

/** The rule against them, as the messages say it (ADMIN_PASSWORD's check too). */
export const untypeableRule =
  'control characters (a tab, a newline, U+0000 to U+001F, U+007F to U+009F): no one can type them at the sign-in form'

/**
 * Why a new password is refused, or undefined when it is accepted: a control character
 * (`The password must not contain control characters …`, untypeable above), a length out of
 * `The password must be 15 to 1024 characters long.` (counted in code points: eight "🔑" are 8,
 * not 16), or too easy to guess (`That password is too easy to guess: it is a keyboard
 * pattern.`: zxcvbn's score below 4, fewer than 10^10 guesses, password-strength.ts), judged in
 * the NFKC form that is hashed (`abcdeｆghijklmno` with a fullwidth ｆ is the run
 * `abcdefghijklmno`) with `context.email`, the account's, and `context.shop` (shopWords) as words
 * it must not be built on. The
 * one rule for `staff add` and `staff password`, ADMIN_PASSWORD's first admin, the back office's
 * forms (add an account, reset a member's password, change one's own) and the API's (`POST
 * /api/admin/staff`, `PUT /api/admin/staff/{id}/password`, `PUT /api/admin/me/password`).
 * Signing in checks none of it: a password set before a rule keeps working. The first check in
 * a process loads zxcvbn's dictionaries (about 1 s).
 */
export async function passwordProblem(
  password: string,
  context: PasswordContext = {},
): Promise<string | undefined> {
  if (untypeable.test(password)) return `The password must not contain ${untypeableRule}.`
  const length = characterCount(password)
  if (length < minPasswordLength || length > maxPasswordLength) {
    return `The password must be ${minPasswordLength} to ${maxPasswordLength} characters long.`
  }
  const why = await guessable(password, context)
  return why && `${guessablePassword}: ${why}.`
}

/**
 * Why `password` is too easy to guess (a clause: `it is a keyboard pattern`), or undefined: the
 * last of passwordProblem's checks alone, for ADMIN_PASSWORD (whose characters and length
 * config.ts has checked).
 */
export const guessable = (
  password: string,
  context: PasswordContext = {},
): Promise<string | undefined> => guessableInWorker(normalised(password), context)

/**
 * The shop's own words, which its staff are tempted to build a password on (NIST SP 800-63B
 * §3.1.1.2's "context-specific words"): the name the pages show (`Trailhead Goods`), MAIL_FROM's
 * display name and its address's domain, and PUBLIC_BASE_URL's host (`shop.acme.example`), each
 * also in its pieces of 3 letters or more (`acme`) and run together (`trailheadgoods`). In
 * lower case: zxcvbn matches its inputs in any case.
 */
export function shopWords(config: Pick<Config, 'MAIL_FROM' | 'PUBLIC_BASE_URL'>): string[] {
  const names = [shopName]
  const from = config.MAIL_FROM
  if (from) {
    const angle = from.lastIndexOf('<')
    const name = angle < 0 ? '' : from.slice(0, angle).trim().replace(/^"|"$/g, '')
    const address = angle < 0 ? from : from.slice(angle + 1, -1)
    names.push(name, address.slice(address.lastIndexOf('@') + 1))
  }
  if (config.PUBLIC_BASE_URL) names.push(new URL(config.PUBLIC_BASE_URL).hostname)
  const words = new Set<string>()
  for (const text of names) {
    const pieces = text
      .toLowerCase()
      .split(/[^\p{L}\p{N}]+/u)
      .filter((p) => p.length >= 3)
    for (const word of [text.toLowerCase().trim(), pieces.join(''), ...pieces]) {
      if (word.length >= 3) words.add(word)
    }
  }
  return [...words]
}

/** Whether ADMIN_PASSWORD holds a character the password rule refuses (untypeable). */
export const hasUntypeable = (password: string): boolean => untypeable.test(password)
