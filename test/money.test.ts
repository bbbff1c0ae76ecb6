import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { formatCents } from '../src/money.ts'

const usd = new Intl.NumberFormat('en-US', { style: 'currency', currency: 'USD' })

describe('formatCents', () => {
  // Up to $100 billion: beyond about 2^53 / 100 cents, Intl's input (cents / 100) is itself
  // rounded, and it prints a cent off where this stays exact.
  it('writes what Intl.NumberFormat en-US USD writes, for any whole number of cents', () => {
    fc.assert(
      fc.property(fc.maxSafeInteger(), (n) => {
        const cents = n % 1e13
        expect(formatCents(cents)).toBe(usd.format(cents / 100))
      }),
      { numRuns: 20_000 },
    )
  })

  it.each([
    [0, '$0.00'],
    [5, '$0.05'],
    [1999, '$19.99'],
    [100000, '$1,000.00'],
    [123456789, '$1,234,567.89'],
    [-250, '-$2.50'],
    [Number.MAX_SAFE_INTEGER, '$90,071,992,547,409.91'],
  ])('%i cents is %s', (cents, text) => {
    expect(formatCents(cents)).toBe(text)
  })
})
