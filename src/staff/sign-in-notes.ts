/**
 * What the sign-in page says about how the member got there: their session ended (and, when a
 * form was sent with it, that what the form asked was not done), or they signed out. The guard
 * (access.ts) and sign-out put a short key in the sign-in page's query (`ended`, `done`); the
 * page turns a key it knows into its sentence and ignores any other, so no text from a URL is
 * ever shown.
 */

/**
 * Each form of the back office by its route (method and template), as the key the sign-in page
 * reads and what it did, completing "Your session ended, so … was not done". A form missing here
 * gets `form` ("what you sent"); test/staff/sign-in-notes.test.ts fails for one.
 */
export const formActions: Record<string, { key: string; what: string }> = {
  'POST /admin/orders/:orderNumber/transitions': {
    key: 'order',
    what: "your change to the order's status",
  },
  'POST /admin/products/:sku/restock': { key: 'restock', what: 'the restock' },
  'POST /admin/products/:sku/price': { key: 'price', what: 'the price change' },
  'POST /admin/products/:sku/sale': { key: 'sale', what: 'taking the product off sale or back on' },
  'POST /admin/password': { key: 'password', what: 'your password change' },
  'POST /admin/staff': { key: 'staff-add', what: 'adding the staff account' },
  'POST /admin/staff/:id/disable': { key: 'staff-disable', what: 'disabling the account' },
  'POST /admin/staff/:id/enable': { key: 'staff-enable', what: 'enabling the account' },
  'POST /admin/staff/:id/role': { key: 'staff-role', what: 'the role change' },
  'POST /admin/staff/:id/password': { key: 'staff-password', what: 'setting their password' },
  'POST /admin/staff/:id/tokens': { key: 'token-create', what: 'creating the token' },
  'POST /admin/staff/:id/tokens/:tokenId/revoke': {
    key: 'token-revoke',
    what: 'revoking the token',
  },
  'POST /admin/webhooks': { key: 'webhook-add', what: 'adding the endpoint' },
  'POST /admin/webhooks/:id': { key: 'webhook-edit', what: 'the change to the endpoint' },
  'POST /admin/webhooks/:id/enabled': {
    key: 'webhook-enabled',
    what: 'enabling or disabling the endpoint',
  },
  'POST /admin/webhooks/:id/rotate-secret': {
    key: 'webhook-secret',
    what: 'rotating the signing secret',
  },
  'POST /admin/webhooks/:id/end-secret-overlap': {
    key: 'webhook-secret-overlap',
    what: 'ending the previous signing secret',
  },
  'POST /admin/webhooks/:id/delete': { key: 'webhook-delete', what: 'deleting the endpoint' },
  'POST /admin/webhooks/:id/deliveries/:deliveryId/redeliver': {
    key: 'webhook-redeliver',
    what: 'the redelivery',
  },
}

/** Sign-out's own route: without a session it has nothing to do, and says so. */
export const signOutRoute = 'POST /admin/logout'

const whatByKey = new Map<string, string>([
  ...Object.values(formActions).map(({ key, what }): [string, string] => [key, what]),
  ['form', 'what you sent'],
])

/** The `ended` key for a form's route (`POST /admin/products/:sku/restock` → `restock`). */
export const endedKeyOf = (route: string): string => formActions[route]?.key ?? 'form'

/**
 * The sign-in page's note for its query, or undefined: `done=signed-out` after signing out,
 * `ended=page` for a page asked for with a session that had ended, `ended=<form key>` for a
 * form sent with one. Unknown values say nothing.
 */
export function signInNote(query: { ended?: string; done?: string }): string | undefined {
  if (query.done === 'signed-out') return 'You are signed out.'
  if (query.ended === 'page') {
    return 'Your session has ended. Sign in again to go on.'
  }
  const what = query.ended === undefined ? undefined : whatByKey.get(query.ended)
  if (what === undefined) return undefined
  return `Your session ended, so ${what} was not done. Sign in again, then do it again.`
}
