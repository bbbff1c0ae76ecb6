/**
 * Where a back-office page leads back to. Every path here is a raw request path under /admin
 * (`/admin/orders.csv?status=x`); the answers are paths of pages that exist, never a URL
 * taken from the request beyond one escaped path segment.
 */

/** The back office's list pages: a section's error page and its forms lead back there. */
const sections: Record<string, string> = {
  orders: 'Back to orders',
  products: 'Back to products',
  staff: 'Back to staff',
  webhooks: 'Back to webhooks',
}

/** The section of `/admin/<section>…` (`orders` for `/admin/orders.csv`), if it is one. */
function sectionOf(path: string): string | undefined {
  const section = path
    .split('?')[0]
    ?.split('/')[2]
    ?.replace(/\.csv$/, '')
  return section !== undefined && Object.hasOwn(sections, section) ? section : undefined
}

/** The back office's home page, as an error page's link. */
export const backOfficeHome = { href: '/admin', label: 'Back to the back office' }

/**
 * The link an error page under /admin offers: the list page of its section (`/admin/orders`
 * for the orders list, the CSV or an order; never with the query that failed), else /admin.
 */
export function backOfficeLink(path: string): { href: string; label: string } {
  const section = sectionOf(path)
  if (section === undefined) return backOfficeHome
  return { href: `/admin/${section}`, label: sections[section] as string }
}

/** Pages outside the sections whose form posts to the page's own path. */
const selfPostingPages = new Set(['/admin/password'])

/**
 * The page a back-office form POSTed to `path` is on, derived from the route: the item's page
 * for an action on one (`/admin/orders/X/transitions` → `/admin/orders/X`, `/admin/staff/7/role`
 * → `/admin/staff/7`), the list for the list's own form and for products (one page for all),
 * the page itself for `/admin/password`, else /admin.
 */
export function formPageOf(path: string): string {
  const section = sectionOf(path)
  const own = path.split('?')[0] ?? ''
  if (section === undefined) return selfPostingPages.has(own) ? own : '/admin'
  const item = path.split('?')[0]?.split('/')[3]
  if (section === 'products' || !item) return `/admin/${section}`
  return `/admin/${section}/${item}`
}
