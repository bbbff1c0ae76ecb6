/**
 * The order lifecycle: the one table of allowed status changes. Everything else (the use case's
 * SQL, the 409 sentences, the API's enum, the back office's buttons) is read from it.
 *
 *   placed → packed → shipped → delivered
 *   placed | packed → cancelled
 *
 * (Vendure keeps its order process the same way: one map from a state to the states it may go
 * to.) `delivered` and `cancelled` are final.
 */
export const transitions = {
  placed: ['packed', 'cancelled'],
  packed: ['shipped', 'cancelled'],
  shipped: ['delivered'],
  delivered: [],
  cancelled: [],
} as const satisfies Record<string, readonly string[]>

export type OrderStatus = keyof typeof transitions

/** Every status, in lifecycle order. */
export const statuses = Object.keys(transitions) as OrderStatus[]

/** Whether `to` may follow `from` (an unknown `from`, from an older row, allows nothing). */
export function canTransition(from: string, to: OrderStatus): boolean {
  return (transitions[from as OrderStatus] as readonly string[] | undefined)?.includes(to) ?? false
}

/** The statuses an order may be in for `to` to follow: what the SQL checks under the lock. */
export function statusesBefore(to: OrderStatus): OrderStatus[] {
  return statuses.filter((from) => canTransition(from, to))
}

/** Whether `to` can still be reached from `from` through one or more allowed changes. */
function reachable(from: OrderStatus, to: OrderStatus): boolean {
  const seen = new Set<OrderStatus>()
  const next = [...transitions[from]] as OrderStatus[]
  while (next.length > 0) {
    const s = next.pop() as OrderStatus
    if (s === to) return true
    if (!seen.has(s)) next.push(...(transitions[s] as readonly OrderStatus[]))
    seen.add(s)
  }
  return false
}

/**
 * Why an order in `current` cannot go to `to`, as a person reads it:
 * - "Order 7K3QX-M2ZPA is shipped; it can no longer be cancelled." (never again),
 * - "Order 7K3QX-M2ZPA is placed; it cannot be delivered yet (next: packed or cancelled)."
 * - "Order 7K3QX-M2ZPA is already packed."
 */
export function refusal(orderNumber: string, current: OrderStatus, to: OrderStatus): string {
  if (current === to) return `Order ${orderNumber} is already ${to}.`
  if (!reachable(current, to)) {
    return `Order ${orderNumber} is ${current}; it can no longer be ${to}.`
  }
  const next = transitions[current].join(' or ')
  return `Order ${orderNumber} is ${current}; it cannot be ${to} yet (next: ${next}).`
}
