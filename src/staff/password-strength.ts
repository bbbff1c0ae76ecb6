import { ZxcvbnFactory, type ZxcvbnResult } from '@zxcvbn-ts/core'
import * as common from '@zxcvbn-ts/language-common'
import * as en from '@zxcvbn-ts/language-en'

/**
 * How guessable a new staff password is, estimated by zxcvbn-ts (@zxcvbn-ts/core with the
 * dictionaries of @zxcvbn-ts/language-common: breached passwords, diceware words, keyboard
 * layouts; and @zxcvbn-ts/language-en: English words, names, Wikipedia terms). NIST SP 800-63B
 * §5.1.1.2 (rev. 4 §3.1.1.2) asks a verifier to refuse passwords from breach corpuses,
 * dictionary words, repetitive or sequential characters and context-specific words (the
 * service's name, the username): zxcvbn finds each of these as a pattern and counts the guesses
 * an attacker trying them in that order would need. The English package earns its place:
 * without it `internationalization`, `extraordinary123` and `kindergarten2026` passed minScore.
 *
 * This module runs in a worker thread (password-check.ts), never on the service's own thread:
 * its dictionaries take about 1 s to load and 47 to 59 MiB (27 MiB of heap), and a check up to
 * 40 ms of CPU, which the event loop serving orders should not carry.
 */

/**
 * The lowest zxcvbn score accepted: 4 of 0 to 4, at least 10^10 guesses, zxcvbn's "very
 * unguessable: strong protection from offline slow-hash scenario" (our hash is argon2id). Score
 * 3 (10^8) accepted `summer2024summer`, `michaeljordan23!` and `jenniferlopez1990`; every
 * passphrase our tests set (`correct horse battery staple`, `a long enough password`, `mot de
 * passe très sûr`…) estimates 10^12 or more.
 */
export const minScore = 4

/**
 * Code points of the password that are estimated; the rest is not looked at. zxcvbn matches
 * every substring against every dictionary, so its time grows with the square of the length
 * (and with the l33t variants below): on this project's 2-core machine, busy, 32 characters of
 * digits and symbols took at most 43 ms of CPU, 64 about 100 ms, and 1024 (cut by zxcvbn itself
 * at 256 UTF-16 units) up to 4 s with its default l33t setting. 32 characters hold far more than minScore's 10^10 guesses for any passphrase
 * worth having; one whose first 32 are easy to guess is refused, which is right: an attacker
 * tries that start first.
 */
export const checkedLength = 32

/**
 * l33t spellings (`p@ssw0rd`) tried per password: zxcvbn's default of 100 took up to 0.8 s on
 * 64 characters of digits and symbols; 5 found each of 15 l33t passwords we tried (`P@ssw0rd…`,
 * `$unsh1ne…`, `adm1n1strat0r123`) as weak as 100 did.
 */
const l33tMaxSubstitutions = 5

/** Words of the service itself, which its staff are tempted to build a password on. */
const serviceWords = ['order service', 'orderservice', 'order-service', 'orders', 'back office']

// No translations: the feedback is zxcvbn's keys (straightRow, common…), said below in our own
// sentences.
const zxcvbn = new ZxcvbnFactory({
  graphs: common.adjacencyGraphs,
  dictionary: { ...common.dictionary, ...en.dictionary },
  l33tMaxSubstitutions,
})

/**
 * The words of an account's e-mail a password must not be built on: the address, its local
 * part and the pieces of it between dots, dashes, underscores and plus signs (3 letters or
 * more), its domain and the domain's first label (`ada.lovelace@example.com`: `ada`,
 * `lovelace`, `example`…).
 */
export function emailWords(email: string): string[] {
  const at = email.lastIndexOf('@')
  const local = at < 0 ? email : email.slice(0, at)
  const domain = at < 0 ? '' : email.slice(at + 1)
  const pieces = local.split(/[._+-]/).filter((piece) => piece.length >= 3)
  const label = domain.split('.')[0] ?? ''
  // The pieces run together too (`adminboss` of admin.boss@…): zxcvbn matches each word whole,
  // and `adminbossexample2026` passed as three unknown words.
  const joined = local.split(/[._+-]/).join('')
  return [email, local, joined, ...pieces, domain, label].filter((word) => word.length >= 3)
}

/** Why zxcvbn found the password guessable, by its warning key; the last is for none. */
const reasons: Record<string, string> = {
  straightRow: 'it is a row of keys on a keyboard',
  keyPattern: 'it is a keyboard pattern',
  simpleRepeat: 'it repeats a character',
  extendedRepeat: 'it repeats a few characters',
  sequences:
    'it is a sequence: a run like abcdef or 987654, or words in their usual order (days, months, numbers)',
  recentYears: 'it is built on a recent year',
  dates: 'it is built on a date',
  topTen: 'it is one of the most common passwords',
  topHundred: 'it is one of the most common passwords',
  common: 'it is a common password',
  similarToCommon: 'it is a common password, or close to one',
  wordByItself: 'it is a single word',
  namesByThemselves: 'it is built on names',
  commonNames: 'it is built on common names',
  userInputs: 'it is built on the account’s e-mail address',
  serviceWords: 'it is built on the shop’s or the service’s name',
  pwned: 'it is a common password',
  '': 'it is made of common words and patterns: add a few more words, uncommon ones',
}

/** The words a password must not be built on, beside zxcvbn's dictionaries. */
export interface PasswordContext {
  /** The account's e-mail address (emailWords). */
  email?: string | undefined
  /** The shop's own words: its name, domain and host (shopWords in passwords.ts). */
  shop?: readonly string[] | undefined
}

/**
 * Why zxcvbn finds `password` too easy to guess (a clause: "it is a keyboard pattern"), or
 * undefined when its score is minScore: its first checkedLength code points are estimated, with
 * the service's words, the shop's (`context.shop`) and `context.email`'s (emailWords) as words an
 * attacker tries first. A password built on one of those is said to be so, whichever pattern
 * zxcvbn found the longest.
 */
export function guessableBecause(
  password: string,
  context: PasswordContext = {},
): string | undefined {
  const own = [...serviceWords, ...(context.shop ?? [])]
  const inputs = [...own, ...(context.email ? emailWords(context.email) : [])]
  const checked = Array.from(password).slice(0, checkedLength).join('')
  const result: ZxcvbnResult = zxcvbn.check(checked, inputs)
  if (result.score >= minScore) return undefined
  const ownWord = result.sequence.find((match) => match.dictionaryName === 'userInputs')
  if (ownWord) {
    return reasons[own.includes(ownWord.matchedWord) ? 'serviceWords' : 'userInputs']
  }
  return reasons[result.feedback.warning ?? ''] ?? reasons['']
}

/** The worker's task (piscina calls the default export): guessableBecause of one password. */
export default ({ password, ...context }: { password: string } & PasswordContext) =>
  guessableBecause(password, context)
