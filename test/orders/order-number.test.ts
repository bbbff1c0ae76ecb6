import { describe, expect, it } from 'vitest'
import {
  newOrderNumber,
  orderNumberPattern,
  parseOrderNumber,
} from '../../src/orders/order-number.ts'

describe('newOrderNumber', () => {
  it('gives distinct canonical numbers across refills of its random words', () => {
    // 5,000 numbers draw 10,000 words: the 2,048-word buffer is refilled four times.
    const numbers = Array.from({ length: 5000 }, newOrderNumber)
    const pattern = new RegExp(orderNumberPattern)
    for (const n of numbers) {
      expect(n).toMatch(/^[0-9A-HJKMNP-TV-Z]{5}-[0-9A-HJKMNP-TV-Z]{5}$/)
      expect(pattern.test(n)).toBe(true)
      expect(parseOrderNumber(n)).toBe(n)
    }
    // 50 random bits: a repeat among 5,000 has a chance of about 1e-8.
    expect(new Set(numbers).size).toBe(numbers.length)
  })

  it('uses all 50 bits: every character position takes many values', () => {
    const numbers = Array.from({ length: 2000 }, newOrderNumber)
    for (let position = 0; position < 11; position++) {
      if (position === 5) continue
      expect(new Set(numbers.map((n) => n[position])).size).toBeGreaterThan(25)
    }
  })
})

describe('parseOrderNumber', () => {
  // A number copied from a rendered e-mail or document may carry a typographic hyphen or dash
  // in place of its ASCII one (a newcomer's review found U+2011 answered 404).
  it.each(['2010', '2011', '2012', '2013', '2014', '2212'])('takes U+%s for the dash', (hex) => {
    const typed = `7k3qx${String.fromCodePoint(Number.parseInt(hex, 16))}m2zpa`
    expect(new RegExp(orderNumberPattern).test(typed)).toBe(true)
    expect(parseOrderNumber(typed)).toBe('7K3QX-M2ZPA')
  })

  it('reads a number trimmed, in any case, without its dash, with I, L and O for 1 and 0', () => {
    expect(parseOrderNumber(' 7k3qx-m2zpa\t')).toBe('7K3QX-M2ZPA')
    expect(parseOrderNumber('7K3QXM2ZPA')).toBe('7K3QX-M2ZPA')
    expect(parseOrderNumber('iL3Qx-m2zpO')).toBe('113QX-M2ZP0')
  })

  // Copied or linkified with the sentence's punctuation ("your order 7K3QX-M2ZPA.", a link in
  // <…>): a shopper's review found `/orders/7K3QX-M2ZPA.` answered 404 "…7K3QX-M2ZPA..".
  it('reads a number without the punctuation around it', () => {
    for (const typed of [
      '7K3QX-M2ZPA.',
      '7k3qx-m2zpa,',
      '(7K3QX-M2ZPA)',
      '<7K3QX-M2ZPA>',
      '\u201c7K3QX-M2ZPA\u201d.',
      "'7K3QX-M2ZPA'",
      '7K3QX-M2ZPA!?;:',
      ' 7K3QX-M2ZPA . ',
    ]) {
      expect(parseOrderNumber(typed), typed).toBe('7K3QX-M2ZPA')
    }
    expect(parseOrderNumber('7K3QX-M2ZPA.1')).toBeUndefined()
    expect(parseOrderNumber('7K3QX.-M2ZPA')).toBeUndefined()
  })

  it('takes no other character for the dash, and a dash nowhere else', () => {
    for (const typed of [
      '7K3QX_M2ZPA',
      '7K3QX.M2ZPA',
      '7K3QX\u2015M2ZPA',
      '7K3QX--M2ZPA',
      '7-K-3-Q-X-M-2-Z-P-A',
      '-7K3QXM2ZPA',
      '7K3QXM2ZPA-',
      '7K3QX-M2ZP',
      '',
    ]) {
      expect(parseOrderNumber(typed), typed).toBeUndefined()
    }
  })
})
