/** The order form's catalogue: read at most once a second, confirmed before it tells of a change. */
import type { Kysely } from 'kysely'
import { isDatabaseUnavailable } from '../db/errors.ts'
import type { Database } from '../db/schema.ts'
import { listAllProducts } from '../products/queries.ts'
import type { AdminProduct } from '../products/schemas.ts'
import { ttlCache } from '../ttl-cache.ts'
import { changesSinceShown } from './form-values.ts'
import { formPricePattern } from './schemas.ts'

export interface FormCatalogue {
  /** Every product, off sale too, as read within the last second (or last read while down). */
  cached: () => Promise<AdminProduct[]>
  /**
   * The catalogue to show a submitted form again with (`values` as typed, `errors` the route's
   * messages): the cached one while it agrees with the form; when it would tell the shopper a
   * chosen product's price, stock or sale changed since the form was shown, read again now.
   */
  forSubmitted: (
    values: Record<string, string>,
    errors: Record<string, string>,
  ) => Promise<AdminProduct[]>
}

/**
 * The form's catalogue over `db`. Every form render lists it (products off sale too, shown, not
 * choosable); stock shown a second late is fine, the order checks it. The last list read is kept
 * past its second too: while the database does not answer, the form still shows (GET /, and a
 * refused order's form with what was typed).
 *
 * The cached second can be older than the page the shopper submitted: a price changed a moment
 * ago (by an admin, through this process or any other worker or instance) is on a page rendered
 * from a fresh read elsewhere, or after the change. Compared with the cache, that page's newer
 * price would read as changed back to the old one, and the old one would go back into the
 * form's hidden price (refused 409 on the next submit). So a difference is confirmed by reading
 * the products now before any sentence names it; only a form that differs from the cache pays
 * that read, never an order placed.
 */
export function formCatalogue(db: Kysely<Database>): FormCatalogue {
  let last: AdminProduct[] | undefined
  const read = ttlCache(async (_: 'all') => {
    last = await listAllProducts(db)
    return last
  }, 1000)
  async function cached(): Promise<AdminProduct[]> {
    try {
      return await read('all')
    } catch (err) {
      if (last && isDatabaseUnavailable(err)) return last
      throw err
    }
  }
  async function forSubmitted(values: Record<string, string>, errors: Record<string, string>) {
    const products = await cached()
    if (changesSinceShown(products, values, errors).sentences.length === 0) return products
    try {
      return await listAllProducts(db)
    } catch (err) {
      if (!isDatabaseUnavailable(err)) throw err
      return keepShownPrices(products, values)
    }
  }
  return { cached, forSubmitted }
}

/**
 * `products` with each product's price replaced by the one the submitted form showed
 * (its `price-<SKU>`, when well formed): for a form shown again from a catalogue that cannot be
 * confirmed (the database does not answer), which may be older than the shopper's page. Nothing
 * then claims a price changed, and the price shown and held stays the one the shopper saw; the
 * order, when placed, is still checked against the price of the moment (409 if it moved).
 */
export function keepShownPrices(
  products: readonly AdminProduct[],
  values: Record<string, string>,
): AdminProduct[] {
  return products.map((p) => {
    const shown = values[`price-${p.sku}`]
    if (shown === undefined || !formPricePattern.test(shown)) return p
    return Number(shown) === p.priceCents ? p : { ...p, priceCents: Number(shown) }
  })
}
