import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { csvCell, csvRecord } from '../../src/admin/csv.ts'
import { createdAtOf } from '../../src/admin/queries.ts'

/** The cell as RFC 4180 and OWASP put it, written plainly: what the fast csvCell must equal. */
const reference = (value: string) =>
  `"${(/^[=+\-@\t\r]/.test(value) ? `'${value}` : value).replaceAll('"', '""')}"`

describe('CSV cells (the export writes a million rows: the fast paths must say the same)', () => {
  it('csvCell quotes, doubles quotes and defuses formulas exactly as the plain rule', () => {
    const text = fc.string({
      unit: fc.constantFrom('=', '+', '-', '@', '\t', '\r', '"', ',', 'a', 'é', '\n', ' '),
    })
    fc.assert(
      fc.property(fc.oneof(text, fc.string({ unit: 'grapheme' })), (v) => {
        expect(csvCell(v)).toBe(reference(v))
      }),
      { numRuns: 2000 },
    )
    fc.assert(
      fc.property(fc.array(text, { minLength: 1, maxLength: 15 }), (cells) => {
        expect(csvRecord(cells)).toBe(`${cells.map(reference).join(',')}\r\n`)
      }),
    )
  })

  it("createdAtOf a row's key is Date's toISOString of it (microseconds cut)", () => {
    const key = fc
      .tuple(
        fc.date({
          min: new Date('1970-01-01T00:00:00Z'),
          max: new Date('9999-12-31T23:59:59.999Z'),
          noInvalidDate: true,
        }),
        fc.integer({ min: 0, max: 999 }),
      )
      .map(([d, micros]) => `${d.toISOString().slice(0, 23)}${String(micros).padStart(3, '0')}Z`)
    fc.assert(
      fc.property(key, (created_key) => {
        expect(createdAtOf({ created_key })).toBe(new Date(created_key).toISOString())
      }),
      { numRuns: 5000 },
    )
    expect(createdAtOf({ created_key: '2026-11-29T11:16:32.123999Z' })).toBe(
      '2026-11-29T11:16:32.123Z',
    )
  })
})
