const thousands = /\B(?=(\d{3})+$)/g

/**
 * Integer cents to "$1,234.56"; the only place cents become a decimal, and only for display.
 * Written out rather than Intl.NumberFormat, whose format() was 3% of the CPU of a confirmation
 * page (three amounts each); test/money.test.ts holds it to Intl's output.
 */
export function formatCents(cents: number): string {
  const abs = Math.abs(cents)
  const dollars = String(Math.floor(abs / 100)).replace(thousands, ',')
  const rest = abs % 100
  return `${cents < 0 ? '-' : ''}$${dollars}.${rest < 10 ? '0' : ''}${rest}`
}
