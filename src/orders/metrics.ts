import { Counter, Histogram, type Registry } from 'prom-client'
import type { PlaceOrderResult } from './placement.ts'

export type RejectionReason = 'validation' | 'out_of_stock' | 'price_changed' | 'duplicate'

/** What the order routes and the batcher count (docs/operations.md, "Metrics"). */
export interface OrderMetrics {
  /** duplicate: a resubmission (same idempotency key) that created no new order. */
  orderRejected(reason: RejectionReason): void
  /** Counts what placeOrder answered: placed, or rejected for one of the reasons. */
  orderOutcome(kind: PlaceOrderResult['kind']): void
  /** How many orders (place) or lookups (find) shared one statement. */
  batch(kind: 'place' | 'find', size: number): void
}

const reasons: Record<Exclude<PlaceOrderResult['kind'], 'placed'>, RejectionReason> = {
  replayed: 'duplicate',
  'key-reused': 'duplicate',
  'out-of-stock': 'out_of_stock',
  'price-changed': 'price_changed',
  'unknown-product': 'validation',
}

/**
 * The orders' metrics, registered in `registry` (the app's, app.metrics.registry):
 * orders_placed_total, orders_rejected_total{reason} (every reason present from the start, at
 * 0) and orders_batch_size{kind}.
 */
export function orderMetrics(registry: Registry): OrderMetrics {
  const registers = [registry]
  const placed = new Counter({
    name: 'orders_placed_total',
    help: 'Orders placed (replays of an idempotency key excluded)',
    registers,
  })
  const rejected = new Counter({
    name: 'orders_rejected_total',
    help: 'Orders refused, by reason: validation, out_of_stock, price_changed, duplicate',
    labelNames: ['reason'] as const,
    registers,
  })
  for (const reason of ['validation', 'out_of_stock', 'price_changed', 'duplicate'] as const) {
    rejected.inc({ reason }, 0)
  }
  const batches = new Histogram({
    name: 'orders_batch_size',
    help: 'Orders placed (kind="place") or looked up (kind="find") in one statement',
    labelNames: ['kind'] as const,
    buckets: [1, 2, 4, 8, 16, 32, 64, 128],
    registers,
  })
  return {
    orderRejected: (reason) => rejected.inc({ reason }),
    orderOutcome: (kind) =>
      kind === 'placed' ? placed.inc() : rejected.inc({ reason: reasons[kind] }),
    batch: (kind, size) => batches.observe({ kind }, size),
  }
}
