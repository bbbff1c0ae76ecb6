import { AjvCompiler } from '@fastify/ajv-compiler'
import fc from 'fast-check'
import type { FastifySchema } from 'fastify'
import { describe, expect, it } from 'vitest'
import { normaliseOrderForm, plainForms } from '../../src/orders/form-normalise.ts'
import { orderFormValidatorCompiler } from '../../src/orders/form-validator.ts'
import { OrderForm } from '../../src/orders/schemas.ts'
import { parseForm } from '../../src/plugins/body-parsers.ts'
import { ajvOptions } from '../../src/validation.ts'
import { formArgs, formBody } from '../bench/flows.ts'

// The order form's validator skips OrderForm's patternProperties for a form whose product fields
// are plain: it must answer every form as the whole schema does, with the whole schema's errors.
const route = { method: 'POST', url: '/orders', httpPart: 'body' }
const validate = orderFormValidatorCompiler({ ...route, schema: OrderForm as FastifySchema }) as ((
  body: unknown,
) => boolean) & { errors?: unknown }
const whole = AjvCompiler()({}, ajvOptions)({ ...route, schema: OrderForm })

/** A form as the route sees it: parsed from its urlencoded text, then normalised. */
const posted = (text: string) => {
  const body = parseForm(Buffer.from(text), undefined)
  normaliseOrderForm(body)
  return body
}

const customer =
  'name=Ada+Lovelace&email=ada%40example.com&address=12+Analytical+Way&city=Columbus&state=OH&zip=43215'
const key = 'idempotencyKey=573859e7-5de1-4613-abf9-37eb1382d3ee'

describe("POST /orders's validator", () => {
  it('takes the quick way for the forms a page posts', () => {
    const skus = (formArgs()[0] as string).split(',')
    for (const sku of skus) {
      const body = posted(formBody('573859e7-5de1-4613-abf9-37eb1382d3ee', [sku]))
      expect(plainForms.has(body)).toBe(true)
      expect(validate(body)).toBe(true)
    }
  })

  it('answers as the whole schema, with its errors, for any mix of product fields', () => {
    const name = fc.oneof(
      fc.constantFrom('qty-', 'price-', 'QTY-', 'Qty-', 'Price-', 'PRICE-', 'qty', 'q', 'p-'),
      fc.constant(''),
    )
    const rest = fc.oneof(
      fc.constantFrom(
        'MUG-001',
        'mug-001',
        'TEE-002',
        '',
        'A'.repeat(32),
        'A'.repeat(33),
        'MÜG',
        'a b',
      ),
      fc.string({ maxLength: 6 }),
    )
    const value = fc.oneof(
      fc.constantFrom(
        '',
        '0',
        '00',
        '1',
        '12',
        '1800',
        '0001800',
        '123456789',
        '-1',
        '1.5',
        ' 1',
        'x',
        ' 0 ',
      ),
      fc.string({ maxLength: 4 }),
    )
    const field = fc.tuple(name, rest, value, fc.boolean())
    fc.assert(
      fc.property(fc.array(field, { maxLength: 8 }), fc.boolean(), (fields, withCustomer) => {
        const pairs = fields.map(([n, r, v, twice]) => {
          const pair = `${encodeURIComponent(n + r)}=${encodeURIComponent(v)}`
          return twice ? `${pair}&${pair}` : pair
        })
        const text = [...(withCustomer ? [customer] : []), ...pairs, key].join('&')
        const body = posted(text)
        const valid = whole(body)
        expect(validate(body)).toBe(valid)
        expect(validate.errors ?? null).toEqual(whole.errors ?? null)
      }),
      { numRuns: 3000 },
    )
  })

  it('is not quick for a field a page never posts, and answers as the whole schema', () => {
    for (const field of [
      'qty-MUG-001=1x',
      'qty-MUG-001=-1',
      'price-MUG-001=0',
      'price-MUG-001=abc',
      'qty-M%C3%9CG-001=1',
      'QTY-M%C3%9CG-001=1',
      'qty-=1',
      'price-=1800',
      'qty-MUG-001=1&qty-MUG-001=2',
    ]) {
      const body = posted(`${customer}&${field}&${key}`)
      expect(plainForms.has(body), field).toBe(false)
      expect(validate(body), field).toBe(whole(body))
      expect(validate.errors, field).toEqual(whole.errors)
    }
  })
})
