import { type RawBuilder, sql } from 'kysely'
import { customerFields } from '../orders/customer.ts'

/**
 * SQL fragments that build the outbox payloads (events.ts) inside the statements that make the
 * changes, so an event is written with its change, in one round trip, and says what the
 * statement wrote, not what Node thought it would. Aliases and column names are constant text
 * of ours (sql.raw), never input.
 */

/**
 * An order as `GET /api/orders/:orderNumber` shows it (src/orders/order-rows.ts toOrder), as
 * jsonb, from a row `o` of `orders` (or a RETURNING with its columns) and `items`, a jsonb array
 * (orderItemsJson). createdAt as toISOString writes it: milliseconds (truncated, as a Date
 * keeps them), UTC, `Z`.
 */
export function orderJson(o: string, items: RawBuilder<unknown>): RawBuilder<unknown> {
  const col = (name: string) => sql.raw(`${o}.${name}`)
  const customer = sql.join(customerFields.map((f) => sql`${sql.lit(f.field)}, ${col(f.column)}`))
  return sql`jsonb_build_object(
    'orderNumber', ${col('order_number')},
    'status', ${col('status')},
    'totalCents', ${col('total_cents')},
    'items', ${items},
    'customer', jsonb_build_object(${customer}),
    'createdAt', to_char(${col('created_at')} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
    'carrier', ${col('carrier')},
    'trackingNumber', ${col('tracking_number')}
  )`
}

/**
 * The aggregate of an order's lines as jsonb, in SKU order by code point (as toOrder sorts them,
 * whatever the database's collation), from the (qualified) columns named.
 */
export function orderItemsJson(columns: {
  sku: string
  name: string
  quantity: string
  unitPriceCents: string
}): RawBuilder<unknown> {
  const { sku, name, quantity, unitPriceCents } = columns
  return sql`jsonb_agg(jsonb_build_object(
    'sku', ${sql.raw(sku)}, 'name', ${sql.raw(name)},
    'quantity', ${sql.raw(quantity)}, 'unitPriceCents', ${sql.raw(unitPriceCents)}
  ) order by ${sql.raw(sku)} collate "C")`
}

/** `product.out_of_stock`'s data from a row `p` of `products`. */
export function productOutOfStockJson(p: string): RawBuilder<unknown> {
  return sql`jsonb_build_object('sku', ${sql.raw(`${p}.sku`)}, 'name', ${sql.raw(`${p}.name`)})`
}
