import { describe, expect, it } from 'vitest'
import { parseJson } from '../../src/plugins/body-parsers.ts'
import { scanJson } from '../../src/plugins/json-keys.ts'
import { halfwayAround } from '../../src/plugins/json-numbers.ts'

const parsed = (json: string) => parseJson(Buffer.from(json), undefined)

describe('a JSON number literal is an integer by what is written, not by its double', () => {
  it('counts 1.0, 1e2, 100.000, 1.5e1 and every zero as integers', () => {
    for (const literal of [
      '1',
      '1.0',
      '1e0',
      '1e2',
      '1E+2',
      '100.000',
      '1.5e1',
      '1250e-1',
      '0.1e1',
      '-3.00',
      '0',
      '-0',
      '0.000e-5',
      '9007199254740993',
      '1e99999999999999999999',
    ]) {
      expect(halfwayAround(literal), literal).toBeUndefined()
    }
  })

  it('gives the number halfway between the integers around a literal that is not one', () => {
    for (const [literal, halfway] of [
      ['99.9999999999999999', 99.5],
      ['1.00000000000000001', 1.5],
      ['1e-400', 0.5],
      ['-1e-400', -0.5],
      ['1e-99999999999999999999', 0.5],
      ['12.5e-1', 1.5],
      ['1250e-2', 12.5],
      ['-0.5e-3', -0.5],
      ['1000000000000000000001e-21', 1.5],
    ] as const) {
      expect(halfwayAround(literal), literal).toBe(halfway)
    }
  })

  it('hands the schema that number where JSON.parse rounded to an integer, and nothing else', () => {
    expect(parsed('{"q":99.9999999999999999,"r":[1e-400],"s":1.0,"t":1.25,"u":1e2}')).toEqual({
      q: 99.5,
      r: [0.5],
      s: 1,
      t: 1.25,
      u: 100,
    })
    // Text is text, and the prototype-key check still runs beside this one.
    expect(parsed('{"a":"1.00000000000000001"}')).toEqual({ a: '1.00000000000000001' })
    expect(() => parsed('{"__proto__":{},"q":1.00000000000000001}')).toThrow(/__proto__/)
  })

  it('walks a body with the reviver only when a number outside its strings has a fraction or exponent', () => {
    const fractions = (json: string) => (scanJson(json) as { fractions: boolean }).fractions
    for (const json of ['[1.5]', '[1e2]', '[0E-0]', '{"a":[true,-2.0]}']) {
      expect(fractions(json), json).toBe(true)
    }
    for (const json of ['[1,20,-3]', '[true,false,null]', '{"address":"12.5 Main St","e":"1e2"}']) {
      expect(fractions(json), json).toBe(false)
    }
  })
})
