import { describe, expect, it } from 'vitest'
import {
  guessablePassword,
  hashPassword,
  passwordProblem,
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

  it('refuses repetitive or sequential passwords of any length (NIST SP 800-63B), accepts the rest', () => {
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
    ]) {
      expect(passwordProblem(pw), JSON.stringify(pw)).toBe(guessablePassword)
    }
    for (const pw of [
      'Passw'.repeat(3),
      'correct horse battery staple',
      'q7#Lm2vX9!pR4zB',
      'aaaaaaaaaaaaXqZ',
      '🔑🗝🔒🍀🌵🦊🐙🎲🎯🧭🪁🧩🛶🗿🎻',
    ]) {
      expect(passwordProblem(pw), JSON.stringify(pw)).toBeUndefined()
    }
    expect(passwordProblem(' '.repeat(14))).toBe('The password must be 15 to 1024 characters long.')
  })
})
