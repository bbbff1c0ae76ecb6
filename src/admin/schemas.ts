import { type Static, Type } from 'typebox'
import { Status, TransitionBody } from '../lifecycle/schemas.ts'
import { Customer } from '../orders/customer.ts'
import { CursorParameter, cursorRule } from './page-query.ts'

const optionalText = (maxLength: number, description: string, examples?: string[]) =>
  Type.Optional(Type.String({ maxLength, description, ...(examples ? { examples } : {}) }))

/**
 * The list's query string (pages, CSV, API): strings, read by parseListQuery (filters.ts), which
 * refuses what is not a filter with a sentence (400). Blank values are filters not set.
 */
export const ListQuerystring = Type.Object({
  status: optionalText(20, 'only orders in this status', ['placed']),
  state: optionalText(20, 'only orders shipped to this state (USPS code)', ['TX']),
  from: optionalText(20, 'placed on or after this day (UTC, YYYY-MM-DD)', ['2026-11-01']),
  to: optionalText(20, 'placed on or before this day (UTC, YYYY-MM-DD)', ['2026-11-30']),
  q: optionalText(
    254,
    'an order number (any case, with or without its dash, or a Unicode hyphen or dash for it: U+2010 to U+2014, U+2212) or a whole e-mail address, in any case',
    ['7K3QX-M2ZPA'],
  ),
  cursor: CursorParameter(
    `the page after this one: nextCursor of the previous answer, sent back as given, with the same filters; ${cursorRule('cursor', "a webhook endpoint's deliveries'")}; a well-formed one that no answer handed out (a time and an order id) is a place in the list like any other: the page after it`,
  ),
})

/**
 * The list's query string for programs (the JSON API, the CSV export): the same parameters, and
 * any other refused with 400 naming it. A misspelt filter (`stauts=cancelled`) or one this list
 * does not have (`limit`) would otherwise answer the unfiltered first page as if it applied.
 * The HTML page keeps ListQuerystring, lenient, as links carry `utm_source` and the like.
 */
export const StrictListQuerystring = Type.Object(ListQuerystring.properties, {
  additionalProperties: false,
})

/**
 * The CSV export's query string: the filters, and any other parameter refused with 400 naming
 * it, a `cursor` too. The export is every page of the list; a cursor (copied from a page's
 * link, say) was ignored, and a damaged one answered the whole list as if it were fine.
 */
const { cursor: _pageOnly, ...filterProperties } = ListQuerystring.properties
export const ExportQuerystring = Type.Object(filterProperties, { additionalProperties: false })

/**
 * The list page's query string: the list's, and `before`, its "Previous page" (a cursor made
 * from the first order shown; see listOrdersBefore). The API pages forward only (nextCursor).
 */
export const PageListQuerystring = Type.Object({
  ...ListQuerystring.properties,
  before: CursorParameter(
    `the page before the order this cursor names (the page's "Previous page"); ${cursorRule('before', "a webhook endpoint's deliveries'")}`,
  ),
})

/** An order as the list shows it: no lines, no history. */
export const OrderSummary = Type.Object({
  orderNumber: Type.String({ examples: ['7K3QX-M2ZPA'] }),
  /** ISO 8601 in UTC with milliseconds, as everywhere: `2026-11-29T11:16:32.123Z`. */
  createdAt: Type.String({ format: 'date-time' }),
  status: Status,
  totalCents: Type.Integer(),
  customer: Customer,
  carrier: Type.Union([Type.String(), Type.Null()]),
  trackingNumber: Type.Union([Type.String(), Type.Null()]),
})
export type OrderSummary = Static<typeof OrderSummary>

export const OrderList = Type.Object({
  orders: Type.Array(OrderSummary, { maxItems: 50 }),
  nextCursor: Type.Union([Type.String(), Type.Null()], {
    description: 'the next page: send it back as ?cursor= with the same filters; null on the last',
  }),
})

/**
 * A button of the order page (urlencoded: every value a string). `to` and `version` are checked
 * by the route; carrier, tracking number and note follow the one text rule once trimmed
 * (TransitionBody, which they are normalised by), and only shipping takes the first two.
 */
export const TransitionForm = Type.Object({
  _csrf: Type.Optional(Type.String({ maxLength: 100 })),
  to: Type.String({ maxLength: 20 }),
  version: Type.String({ maxLength: 12 }),
  carrier: TransitionBody.properties.carrier,
  trackingNumber: TransitionBody.properties.trackingNumber,
  note: TransitionBody.properties.note,
})
