import { describe, expect, it } from 'vitest'
import {
  hashPassword,
  passwordProblem,
  shopWords,
  verifyPassword,
} from '../../src/staff/passwords.ts'
import { typedFormHash } from '../helpers/staff.ts'

const composed = 'caf\u00e9 password long' // é as one code point (NFC)
const decomposed = 'cafe\u0301 password long' // e and a combining acute accent (NFD)

describe('staff passwords', () => {
  it('match whichever Unicode form the same visible password is typed in (NFKC, NIST SP 800-63B)', async () => {
    expect(decomposed).not.toBe(composed)
    const stored = await hashPassword(composed)
    expect(await verifyPassword(stored, composed)).toBe('normalised')
    expect(await verifyPassword(stored, decomposed)).toBe('normalised')
    expect(await verifyPassword(stored, 'cafe password long')).toBe(false)
    // Compatibility forms too: fullwidth letters are the ASCII ones.
    const fullwidth = await hashPassword('\uff50\uff41\uff53\uff53 phrase of length')
    expect(await verifyPassword(fullwidth, 'pass phrase of length')).toBe('normalised')
  })

  it('still match a hash made before normalising, typed as it was then', async () => {
    const legacy = await typedFormHash(decomposed)
    // Matched only as typed: sign-in stores a new hash of its NFKC form (sign-in.test.ts).
    expect(await verifyPassword(legacy, decomposed)).toBe('as-typed')
    expect(await verifyPassword(legacy, composed)).toBe(false)
    expect(
      await verifyPassword(await typedFormHash('plain ascii password'), 'plain ascii password'),
    ).toBe('normalised')
    expect(await verifyPassword(legacy, 'wrong password here')).toBe(false)
  })

  it('refuses repetitive or sequential passwords of any length (NIST SP 800-63B), accepts the rest', async () => {
    for (const pw of [
      ' '.repeat(15),
      'a'.repeat(40),
      '\u3000'.repeat(15),
      'ab'.repeat(8),
      'Pass'.repeat(4),
      '🔑'.repeat(15),
      'abcdefghijklmnop',
      '123456789:;<=>?@',
      'onmlkjihgfedcba',
      // A run or a repeat with a character or two added, changed or wrapped around (a review
      // found each accepted): still the run.
      '1234567890123456',
      '12345678901234567890',
      '0123456789abcdef',
      'abcdefghijklmnopqrstuvwxyzabc',
      'zyxwvutsrqponmlkjihgfedcbazyx',
      'abcdefghijklmnop1',
      'abcdefghijklmnoq',
      'aaaaaaaaaaaaaaab',
      '1111111111111112',
      `${' '.repeat(14)}x`,
      'Aa1'.repeat(5),
      `${'🔑🗝'.repeat(7)}🔒`,
      // Accepted by our own rule of at most two characters that follow neither a repeat nor a
      // run; zxcvbn counts the guesses (10^4.6 and 10^5.5).
      'Passw'.repeat(3),
      'aaaaaaaaaaaaXqZ',
    ]) {
      expect(await passwordProblem(pw), JSON.stringify(pw)).toMatch(
        /^That password is too easy to guess: it /,
      )
    }
    for (const pw of [
      'correct horse battery staple',
      'q7#Lm2vX9!pR4zB',
      '🔑🗝🔒🍀🌵🦊🐙🎲🎯🧭🪁🧩🛶🗿🎻',
      // The passphrases other tests set, the weakest zxcvbn finds 10^12 guesses for.
      'a long enough password',
      'a-long-enough-password',
      'not a password of anyone',
      'pass phrase of length',
      'mot de passe très sûr',
    ]) {
      expect(await passwordProblem(pw), JSON.stringify(pw)).toBeUndefined()
    }
    expect(await passwordProblem(' '.repeat(14))).toBe(
      'The password must be 15 to 1024 characters long.',
    )
  })

  it('refuses keyboard patterns, common passwords padded to length and dictionary words (zxcvbn)', async () => {
    const refused: [string, RegExp][] = [
      ['qwertyuiopasdfgh', /common password/],
      ['1qaz2wsx3edc4rfv', /common password/],
      ['zxcvbnmasdfghjkl', /common password/],
      ['qazwsxedcrfvtgbyhn', /keyboard|common password/],
      ['password1234567', /common password/],
      ['P@ssw0rd12345678', /common password/],
      ['baseballfootball', /common password/],
      ['iloveyouiloveyou', /repeats a few characters/],
      ['extraordinary123', /./],
      ['internationalization', /single word/],
      ['summer2024summer', /./],
      ['michaeljordan23!', /./],
    ]
    for (const [pw, why] of refused) {
      const problem = await passwordProblem(pw)
      expect(problem, pw).toMatch(/^That password is too easy to guess: it /)
      expect(problem, pw).toMatch(why)
    }
  })

  it('refuses a password built on the account’s e-mail or the service’s name', async () => {
    const email = 'ada.lovelace@example.com'
    for (const pw of [
      'ada.lovelace@example.com',
      'adalovelace12345',
      'Lovelace2026!!!!',
      'example.com12345',
    ]) {
      expect(await passwordProblem(pw, { email }), pw).toBe(
        'That password is too easy to guess: it is built on the account’s e-mail address.',
      )
    }
    // Its pieces run together, with a word or the domain after them (a review found both taken).
    for (const [pw, of] of [
      ['adminbossexample2026', 'admin.boss@example.com'],
      ['gracehopperrocks!!', 'grace.hopper@navy-example.org'],
    ] as const) {
      expect(await passwordProblem(pw, { email: of }), pw).toBe(
        'That password is too easy to guess: it is built on the account’s e-mail address.',
      )
    }
    // The same without the e-mail: only a name and digits, yet more guesses.
    expect(await passwordProblem('adalovelace12345')).not.toMatch(/e-mail/)
    expect(await passwordProblem('orderservice2026', { email }), 'service').toBe(
      'That password is too easy to guess: it is built on the shop’s or the service’s name.',
    )
    expect(await passwordProblem('correct horse battery staple', { email })).toBeUndefined()
  })

  it('refuses a password built on the shop’s name, its MAIL_FROM or its PUBLIC_BASE_URL host', async () => {
    const shop = shopWords({
      MAIL_FROM: '"Acme Outfitters, Inc." <orders@acme-outfitters.example>',
      PUBLIC_BASE_URL: 'https://shop.summitgear.example',
    })
    for (const pw of [
      'AcmeOutfitters2026!',
      'acmeoutfitters#1!',
      'summitgear2026!!x',
      'TrailheadGoods2026',
      'trailhead goods rocks',
    ]) {
      expect(await passwordProblem(pw, { shop }), pw).toBe(
        'That password is too easy to guess: it is built on the shop’s or the service’s name.',
      )
      // Without the shop's words zxcvbn takes each for unknown words: what this rule adds.
      expect(await passwordProblem(pw), pw).toBeUndefined()
    }
    // With neither setting, the name the pages show.
    expect(shopWords({})).toEqual(['trailhead goods', 'trailheadgoods', 'trailhead', 'goods'])
    expect(await passwordProblem('correct horse battery staple', { shop })).toBeUndefined()
  })

  it('estimates the first 32 characters only, so a long password costs what 32 do', async () => {
    const strong = 'q7#Lm2vX9!pR4zB correct horse battery staple'
    expect(await passwordProblem(`${strong}${'a'.repeat(900)}`)).toBeUndefined()
    expect(await passwordProblem(`${'a'.repeat(32)}${strong}`)).toMatch(/repeats a character/)
  })
})
