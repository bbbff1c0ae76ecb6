import { sql } from 'kysely'
import { type Static, Type } from 'typebox'
import { arrayLiteral } from '../db/arrays.ts'
import { EmailAddress } from '../email.ts'
import { normaliseText, Text } from '../text.ts'
import { normaliseStateCode, StateCode } from '../us-states.ts'

/**
 * `Ada@Example.COM` -> `Ada@example.com`: a domain has no case; a local part may (RFC 5321 §2.4).
 * ASCII letters only: the domain must be ASCII (emailFault), and lower-casing other letters
 * could lengthen it (İ is two code points in lower case), so the limits and the message naming
 * the domain would be about something else than what was typed.
 */
export function normaliseEmail(value: string): string {
  const email = value.trim()
  const at = email.lastIndexOf('@')
  return at < 0 ? email : email.slice(0, at + 1) + email.slice(at + 1).replace(asciiUpper, lower)
}
const asciiUpper = /[A-Z]+/g
const lower = (letters: string) => letters.toLowerCase()

/**
 * `78701 1234`, `787011234`, `78701 - 1234` and `78701–1234` (a word processor's dash: U+2010 to
 * U+2015, U+2212) -> `78701-1234`; fullwidth digits (`７８７０１`, an East Asian keyboard's) are
 * the ASCII ones (NFKC). Anything else only trimmed, so its message shows it as typed.
 */
export function normaliseZip(value: string): string {
  const zip = value.trim()
  const ascii = zip.normalize('NFKC')
  if (/^\d{5}$/.test(ascii)) return ascii
  const plus4 = /^(\d{5})[\s\-\u2010-\u2015\u2212]*(\d{4})$/.exec(ascii)
  return plus4 ? `${plus4[1]}-${plus4[2]}` : zip
}

/**
 * The customer's fields of an order, in one list that everything else reads: the API and form
 * schemas (`schema`), the canonical spelling (`normalise`, before validation), the column of
 * `orders` it is stored in (`column`, with its PostgreSQL type for the batch's `unnest` arrays),
 * the row mapper, the request hash (in this order: reordering changes every hash, so a replayed
 * request no longer matches its order) and the form's error messages (`label`). A new field is a
 * migration, an entry here and the templates (form and confirmation).
 */
export const customerFields = [
  {
    field: 'name',
    column: 'customer_name',
    pgType: 'text',
    label: 'Name',
    schema: Text(100, 'a name'),
    normalise: normaliseText,
  },
  {
    field: 'email',
    column: 'email',
    pgType: 'text',
    label: 'E-mail',
    schema: EmailAddress,
    normalise: normaliseEmail,
  },
  {
    field: 'address',
    column: 'address',
    pgType: 'text',
    label: 'Street address',
    schema: Text(200, 'a street address'),
    normalise: normaliseText,
  },
  {
    field: 'city',
    column: 'city',
    pgType: 'text',
    label: 'City',
    schema: Text(100, 'a city'),
    normalise: normaliseText,
  },
  {
    field: 'state',
    column: 'state',
    pgType: 'text',
    label: 'State',
    schema: StateCode,
    normalise: normaliseStateCode,
  },
  {
    field: 'zip',
    column: 'zip',
    pgType: 'text',
    label: 'ZIP code',
    schema: Type.String({
      pattern: '^\\d{5}(-\\d{4})?$',
      description:
        "A ZIP code of the customer's state: one the USPS gives another state (by its 3-digit prefix) is refused with 400, as is one starting 000 to 004 (docs/api.md, What is accepted).",
      errorMessage: 'must be a 5-digit ZIP code, like 94107 or 94107-1234',
    }),
    normalise: normaliseZip,
  },
] as const

type CustomerField = (typeof customerFields)[number]
type CustomerProperties = { [F in CustomerField as F['field']]: F['schema'] }
/** The customer's columns of `orders`, all text. */
export type CustomerColumns = { [F in CustomerField as F['column']]: string }

declare module '../db/schema.ts' {
  // The customer's columns come from the list above: the table type follows it.
  interface OrdersTable extends CustomerColumns {}
}

/** The customer of an order, as the API takes and answers it and the form posts it. */
export const Customer = Type.Object(
  Object.fromEntries(customerFields.map((f) => [f.field, f.schema])) as CustomerProperties,
  { additionalProperties: false },
)
export type Customer = Static<typeof Customer>

/** `{name: 'Name', ...}`: how the form's messages name each field. */
export const customerLabels: Readonly<Record<string, string>> = Object.fromEntries(
  customerFields.map((f) => [f.field, f.label]),
)

/**
 * The order form's `maxlength` for each field that has a limit: four times it for free text, the
 * limit itself for the e-mail (ASCII only: a unit is a character). Text limits count characters
 * after NFC, which only the server can count (its message says when one is over), and a
 * maxlength counts UTF-16 units: at the limit it cut names the server takes (an emoji is two
 * units, an accent typed after its letter one more, and the cut could fall between the two).
 * Four times cuts none of them, and keeps a paste from growing the form to its 64 KiB.
 */
export const formMaxLengths: Readonly<Record<string, number>> = Object.fromEntries(
  customerFields.flatMap(({ field, schema }) => {
    const limit = (schema as { maxLength?: number }).maxLength
    if (limit === undefined) return []
    return [[field, field === 'email' ? limit : 4 * limit]]
  }),
)

/** Each field's canonical form, the same for the API and the form. */
export const customerNormalisers: Readonly<Record<string, (value: string) => string>> =
  Object.fromEntries(customerFields.map((f) => [f.field, f.normalise]))

/** The customer's values in list order: what the request hash covers. */
export const customerValues = (customer: Customer): string[] =>
  customerFields.map((f) => customer[f.field])

/**
 * The customer's fields of a validated form (or any object holding them as strings), as the
 * customer: the fields picked one by one, as the form object holds many more (a quantity per
 * product) that copying it whole, less the others, would walk.
 */
export function formCustomer(fields: Readonly<Record<string, unknown>>): Customer {
  const customer: Record<string, string> = {}
  for (const f of customerFields) customer[f.field] = fields[f.field] as string
  return customer as Customer
}

/** A row's customer columns as the customer. */
export function customerFromRow(row: CustomerColumns): Customer {
  const customer: Record<string, string> = {}
  for (const f of customerFields) customer[f.field] = row[f.column]
  return customer as Customer
}

/** `o.customer_name`, `o.email`, ...: the customer's columns for a Kysely select. */
export const customerColumnRefs = customerFields.map((f) => `o.${f.column}` as const)

/** `customer_name, email, ...` for an INSERT's column list or an alias list (constant text). */
export const customerColumnList = (prefix = '') =>
  sql.raw(customerFields.map((f) => prefix + f.column).join(', '))

/** One order's customer as the parameters of an INSERT's values, in list order. */
export const customerParams = (customer: Customer) =>
  sql.join(customerFields.map((f) => sql`${customer[f.field]}`))

/**
 * Several orders' customers as one array per column, for `unnest` (`$1::text[], ...`), each an
 * array literal (arrayLiteral).
 */
export const customerArrays = (customers: readonly Customer[]) =>
  sql.join(
    customerFields.map(
      (f) => sql`${arrayLiteral(customers.map((c) => c[f.field]))}::${sql.raw(f.pgType)}[]`,
    ),
  )
