import { AjvCompiler } from '@fastify/ajv-compiler'
import type { FastifySchema, FastifySchemaCompiler } from 'fastify'
import { ajvOptions } from '../validation.ts'
import { plainForms } from './form-normalise.ts'

/**
 * The validator of `POST /orders` (the route's `validatorCompiler`) for its schema, OrderForm,
 * compiled by the library and with the options Fastify compiles every other schema with
 * (validation.ts), so its answers and errors are the schema's. A form whose product fields are
 * plain (plainForms, marked by normaliseOrderForm in the route's preValidation: what every page
 * posts) is checked against the schema without its patternProperties, which otherwise test each
 * of the form's ~35 field names against three patterns: 5 of the 6 µs the form's validation took
 * (docs/benchmarks.md, "Stop 26"). Any other form, and any form that fails, is checked against
 * the whole schema, whose errors are the ones reported.
 */
export const orderFormValidatorCompiler: FastifySchemaCompiler<FastifySchema> = ({
  schema,
  httpPart,
}) => {
  if (httpPart !== 'body')
    throw new Error(`the order form's validator checks a body, not ${httpPart}`)
  const compile = AjvCompiler()({}, ajvOptions)
  const route = { method: 'POST', url: '/orders', httpPart: 'body' }
  const whole = compile({ ...route, schema })
  const { patternProperties: _, ...withoutPatterns } = schema as { patternProperties?: unknown }
  const lean = compile({ ...route, schema: withoutPatterns })
  const validate = (body: unknown) => {
    if (typeof body === 'object' && body !== null && plainForms.has(body) && lean(body)) {
      validate.errors = null
      return true
    }
    const valid = whole(body) as boolean
    validate.errors = whole.errors
    return valid
  }
  validate.errors = null as typeof whole.errors
  return validate
}
