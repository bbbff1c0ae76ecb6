/**
 * Each state's main time zone (IANA), by USPS code: the zone most of its people live in, for
 * showing a shopper when their order was placed. States split between zones take the zone of
 * the larger part (Florida, Michigan, Kentucky, Tennessee: Eastern or Central as most live;
 * Idaho: Mountain, Boise; Oregon: Pacific; Texas, Kansas, Nebraska, the Dakotas: Central; Indiana:
 * Indianapolis). Arizona keeps standard time all year (America/Phoenix; the Navajo Nation's
 * daylight time is not the state's), Hawaii has no daylight time either.
 */
export const stateTimeZones: Readonly<Record<string, string>> = {
  AL: 'America/Chicago',
  AK: 'America/Anchorage',
  AZ: 'America/Phoenix',
  AR: 'America/Chicago',
  CA: 'America/Los_Angeles',
  CO: 'America/Denver',
  CT: 'America/New_York',
  DE: 'America/New_York',
  DC: 'America/New_York',
  FL: 'America/New_York',
  GA: 'America/New_York',
  HI: 'Pacific/Honolulu',
  ID: 'America/Boise',
  IL: 'America/Chicago',
  IN: 'America/Indiana/Indianapolis',
  IA: 'America/Chicago',
  KS: 'America/Chicago',
  KY: 'America/New_York',
  LA: 'America/Chicago',
  ME: 'America/New_York',
  MD: 'America/New_York',
  MA: 'America/New_York',
  MI: 'America/Detroit',
  MN: 'America/Chicago',
  MS: 'America/Chicago',
  MO: 'America/Chicago',
  MT: 'America/Denver',
  NE: 'America/Chicago',
  NV: 'America/Los_Angeles',
  NH: 'America/New_York',
  NJ: 'America/New_York',
  NM: 'America/Denver',
  NY: 'America/New_York',
  NC: 'America/New_York',
  ND: 'America/Chicago',
  OH: 'America/New_York',
  OK: 'America/Chicago',
  OR: 'America/Los_Angeles',
  PA: 'America/New_York',
  RI: 'America/New_York',
  SC: 'America/New_York',
  SD: 'America/Chicago',
  TN: 'America/Chicago',
  TX: 'America/Chicago',
  UT: 'America/Denver',
  VT: 'America/New_York',
  VA: 'America/New_York',
  WA: 'America/Los_Angeles',
  WV: 'America/New_York',
  WI: 'America/Chicago',
  WY: 'America/Denver',
}

// One formatter per zone, made on first use: building an Intl.DateTimeFormat costs far more
// than formatting with one (ICU loads the zone's rules and the locale's patterns).
const formatters = new Map<string, Intl.DateTimeFormat>()

function formatterFor(timeZone: string): Intl.DateTimeFormat {
  let formatter = formatters.get(timeZone)
  if (!formatter) {
    formatter = new Intl.DateTimeFormat('en-US', {
      timeZone,
      weekday: 'long',
      year: 'numeric',
      month: 'long',
      day: 'numeric',
      hour: 'numeric',
      minute: '2-digit',
      timeZoneName: 'short',
    })
    formatters.set(timeZone, formatter)
  }
  return formatter
}

/**
 * An instant as a shopper in `state` reads it, in the state's main zone with the zone's
 * abbreviation: `Monday, July 15, 2024 at 10:30 AM EDT`. A code not in the map (never stored:
 * the schemas refuse it) falls back to UTC.
 */
export function localTime(instant: Date | string, state: string): string {
  const zone = stateTimeZones[state] ?? 'UTC'
  return formatterFor(zone).format(new Date(instant))
}
