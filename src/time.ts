/**
 * An instant as the back office's pages show it: `<time datetime="2026-01-31T14:05:09.000Z">
 * 2026-01-31 14:05 UTC</time>`, the one format of every back-office page (minutes, the zone
 * written out; the attribute keeps the exact instant for machines). Output is HTML, built only
 * from toISOString's digits and separators: templates print it raw (`<%~`).
 * @param instant a Date or any string Date parses (the API's ISO 8601, a PostgreSQL timestamp).
 * @throws RangeError for an instant that is not a date (a bug upstream, never shown as "Invalid").
 */
export function backOfficeTime(instant: Date | string): string {
  const iso = new Date(instant).toISOString()
  return `<time datetime="${iso}">${iso.slice(0, 10)} ${iso.slice(11, 16)} UTC</time>`
}
