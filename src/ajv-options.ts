import type { Ajv, Options } from 'ajv'

/**
 * How every schema is compiled (Fastify's `ajv` option; the order form's own validator,
 * form-validator.ts, compiles with the same). No coercion: a JSON quantity of `true` or "0x10" is
 * refused, not read as 1 or 16; inputs that are strings by nature (form fields, path parameters)
 * are validated as strings. removeAdditional: false, over Fastify's default of true
 * (@fastify/ajv-compiler), which silently strips a field a strict schema (additionalProperties:
 * false, the JSON API's bodies) does not know: such a body is refused 400 "has an unknown field",
 * never read as if the field were not there. Forms and query strings have open schemas and keep
 * extras. errorMessage carries the sentence a person reads (validation.ts, `describe`); Ajv itself ignores it.
 */
export const ajvOptions = {
  customOptions: {
    allErrors: true,
    verbose: true,
    coerceTypes: false,
    removeAdditional: false,
  },
  plugins: [(ajv: Ajv) => ajv.addKeyword('errorMessage').addKeyword('x-id')],
} as const satisfies { customOptions: Options; plugins: ((ajv: Ajv) => unknown)[] }
