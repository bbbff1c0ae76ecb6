import type { ColumnType, Generated } from 'kysely'

// bigint columns come back as string (pg) or bigint (PGlite); map them with Number() on read.
type Int8 = ColumnType<string | number | bigint, number | bigint, number | bigint>

export interface ProductsTable {
  id: Generated<number>
  sku: string
  name: string
  description: string
  price_cents: number
  image_path: string
  stock: number
}

export interface OrdersTable {
  id: Generated<Int8>
  order_number: string
  idempotency_key: string
  request_hash: string
  // The customer's columns (customer_name, email, address, city, state, zip) are added by
  // src/orders/customer.ts from its list of customer fields.
  status: Generated<string>
  total_cents: Int8
  created_at: Generated<Date>
}

export interface OrderLinesTable {
  order_id: Int8
  product_id: number
  quantity: number
  unit_price_cents: number
}

export interface SalesQueueTable {
  id: Generated<Int8>
  state: string
  product_id: number
  units: number
  /** The line's quantity times its captured unit price. */
  revenue_cents: ColumnType<string | number | bigint, number | bigint | undefined, never>
  /** 1 on the first line of an order, 0 on its others: counts orders per state exactly. */
  orders: Generated<number>
  created_at: Generated<Date>
}

export interface StateProductSalesTable {
  state: string
  product_id: number
  units: Int8
  /** Orders with this product (an order has at most one line per product). */
  orders: Int8
  revenue_cents: Int8
}

export interface StateSalesTable {
  state: string
  orders: Int8
  units: Int8
  revenue_cents: Int8
}

export interface Database {
  products: ProductsTable
  orders: OrdersTable
  order_lines: OrderLinesTable
  sales_queue: SalesQueueTable
  state_product_sales: StateProductSalesTable
  state_sales: StateSalesTable
}
