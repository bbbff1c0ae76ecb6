const usd = new Intl.NumberFormat('en-US', { style: 'currency', currency: 'USD' })

/** Integer cents to "$1,234.56"; the only place cents become a decimal, and only for display. */
export const formatCents = (cents: number): string => usd.format(cents / 100)
