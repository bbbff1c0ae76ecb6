/** An order as the API and the pages show it. */
export interface Customer {
  name: string
  email: string
  address: string
  city: string
  state: string
  zip: string
}

export interface OrderItem {
  sku: string
  name: string
  quantity: number
  unitPriceCents: number
}

export interface Order {
  orderNumber: string
  status: string
  totalCents: number
  items: OrderItem[]
  customer: Customer
  createdAt: string
}

export interface OrderRequest {
  items: { sku: string; quantity: number }[]
  customer: Customer
  idempotencyKey: string
}
