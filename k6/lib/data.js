// Random but realistic test data: US customers (states weighted by population),
// quantities, UUIDs. Pure JavaScript apart from the optional k6/crypto import, so the
// helpers behave the same in every k6 version.
import { randomBytes } from 'k6/crypto'

/**
 * @typedef {object} Customer
 * @property {string} name
 * @property {string} email
 * @property {string} address
 * @property {string} city
 * @property {string} state two-letter US code
 * @property {string} zip five digits
 */

/**
 * The 50 states with an approximate population in millions (2020 census, rounded),
 * one large city and that city's 3-digit ZIP prefix.
 * @type {ReadonlyArray<readonly [code: string, weight: number, city: string, zip3: string]>}
 */
export const US_STATES = [
  ['AL', 5.0, 'Birmingham', '352'],
  ['AK', 0.73, 'Anchorage', '995'],
  ['AZ', 7.2, 'Phoenix', '850'],
  ['AR', 3.0, 'Little Rock', '722'],
  ['CA', 39.5, 'Los Angeles', '900'],
  ['CO', 5.8, 'Denver', '802'],
  ['CT', 3.6, 'Hartford', '061'],
  ['DE', 0.99, 'Wilmington', '198'],
  ['FL', 21.5, 'Miami', '331'],
  ['GA', 10.7, 'Atlanta', '303'],
  ['HI', 1.46, 'Honolulu', '968'],
  ['ID', 1.84, 'Boise', '837'],
  ['IL', 12.8, 'Chicago', '606'],
  ['IN', 6.8, 'Indianapolis', '462'],
  ['IA', 3.19, 'Des Moines', '503'],
  ['KS', 2.94, 'Wichita', '672'],
  ['KY', 4.5, 'Louisville', '402'],
  ['LA', 4.66, 'New Orleans', '701'],
  ['ME', 1.36, 'Portland', '041'],
  ['MD', 6.18, 'Baltimore', '212'],
  ['MA', 7.03, 'Boston', '021'],
  ['MI', 10.08, 'Detroit', '482'],
  ['MN', 5.71, 'Minneapolis', '554'],
  ['MS', 2.96, 'Jackson', '392'],
  ['MO', 6.15, 'Kansas City', '641'],
  ['MT', 1.08, 'Billings', '591'],
  ['NE', 1.96, 'Omaha', '681'],
  ['NV', 3.1, 'Las Vegas', '891'],
  ['NH', 1.38, 'Manchester', '031'],
  ['NJ', 9.29, 'Newark', '071'],
  ['NM', 2.12, 'Albuquerque', '871'],
  ['NY', 20.2, 'New York', '100'],
  ['NC', 10.4, 'Charlotte', '282'],
  ['ND', 0.78, 'Fargo', '581'],
  ['OH', 11.8, 'Columbus', '432'],
  ['OK', 3.96, 'Oklahoma City', '731'],
  ['OR', 4.24, 'Portland', '972'],
  ['PA', 13.0, 'Philadelphia', '191'],
  ['RI', 1.1, 'Providence', '029'],
  ['SC', 5.12, 'Columbia', '292'],
  ['SD', 0.89, 'Sioux Falls', '571'],
  ['TN', 6.91, 'Nashville', '372'],
  ['TX', 29.1, 'Houston', '770'],
  ['UT', 3.27, 'Salt Lake City', '841'],
  ['VT', 0.64, 'Burlington', '054'],
  ['VA', 8.63, 'Richmond', '232'],
  ['WA', 7.71, 'Seattle', '981'],
  ['WV', 1.79, 'Charleston', '253'],
  ['WI', 5.89, 'Milwaukee', '532'],
  ['WY', 0.58, 'Cheyenne', '820'],
]

const FIRST_NAMES = [
  'James',
  'Mary',
  'Robert',
  'Patricia',
  'John',
  'Jennifer',
  'Michael',
  'Linda',
  'David',
  'Elizabeth',
  'William',
  'Barbara',
  'Richard',
  'Susan',
  'Joseph',
  'Jessica',
  'Thomas',
  'Karen',
  'Carlos',
  'Sarah',
  'Daniel',
  'Nancy',
  'Wei',
  'Priya',
  'Mohammed',
  'Aisha',
  'Kenji',
  'Sofia',
  'Liam',
  'Olivia',
  'Noah',
  'Emma',
]

// A few names with an apostrophe, a hyphen or a non-ASCII letter on purpose: real
// customers have them, and the form/JSON/escaping path must handle them.
const LAST_NAMES = [
  'Smith',
  'Johnson',
  'Williams',
  'Brown',
  'Jones',
  'Garcia',
  'Miller',
  'Davis',
  'Rodriguez',
  'Martinez',
  'Hernandez',
  'Lopez',
  'Wilson',
  'Anderson',
  'Thomas',
  'Taylor',
  'Moore',
  'Jackson',
  'Lee',
  'Nguyen',
  'Patel',
  'Kim',
  'Chen',
  'Walker',
  "O'Brien",
  'Smith-Jones',
  'Muñoz',
]

const STREETS = [
  'Main',
  'Oak',
  'Pine',
  'Maple',
  'Cedar',
  'Elm',
  'Washington',
  'Lake',
  'Hill',
  'Park',
  'Sunset',
  'Lincoln',
  'Jefferson',
  'Highland',
  'Riverside',
]

const STREET_SUFFIXES = ['St', 'Ave', 'Blvd', 'Rd', 'Ln', 'Dr', 'Ct', 'Way']

/**
 * @param {number} min inclusive
 * @param {number} max inclusive
 * @returns {number}
 */
export function randomInt(min, max) {
  return min + Math.floor(Math.random() * (max - min + 1))
}

/**
 * @template T
 * @param {ReadonlyArray<T>} items non-empty
 * @returns {T}
 */
export function pick(items) {
  if (items.length === 0) throw new Error('pick() from an empty list')
  return /** @type {T} */ (items[Math.floor(Math.random() * items.length)])
}

/**
 * Picks `count` distinct items (fewer if the list is shorter).
 * @template T
 * @param {ReadonlyArray<T>} items
 * @param {number} count
 * @returns {T[]}
 */
export function pickDistinct(items, count) {
  const copy = items.slice()
  const out = []
  while (out.length < count && copy.length > 0) {
    const [item] = copy.splice(Math.floor(Math.random() * copy.length), 1)
    if (item !== undefined) out.push(item)
  }
  return out
}

/**
 * Weighted pick of a state; restricted to `allowed` codes when given (e.g. the options
 * of the form's state select) so the data always matches what the service accepts.
 * @param {ReadonlyArray<string>} [allowed]
 * @returns {readonly [string, number, string, string]}
 */
export function pickState(allowed) {
  const pool =
    allowed && allowed.length > 0
      ? US_STATES.filter((s) => allowed.indexOf(s[0]) !== -1)
      : US_STATES
  const candidates = pool.length > 0 ? pool : US_STATES
  let total = 0
  for (const s of candidates) total += s[1]
  let r = Math.random() * total
  for (const s of candidates) {
    r -= s[1]
    if (r < 0) return s
  }
  return /** @type {readonly [string, number, string, string]} */ (
    candidates[candidates.length - 1]
  )
}

/**
 * ASCII local part for an e-mail address.
 * @param {string} text
 * @returns {string}
 */
function emailPart(text) {
  return text
    .toLowerCase()
    .replace(/ñ/g, 'n')
    .replace(/[^a-z0-9]/g, '')
}

/**
 * A random US customer. E-mails use the reserved example.com domain.
 * @param {ReadonlyArray<string>} [allowedStates]
 * @returns {Customer}
 */
export function randomCustomer(allowedStates) {
  const first = pick(FIRST_NAMES)
  const last = pick(LAST_NAMES)
  const [state, , city, zip3] = pickState(allowedStates)
  const unit = Math.random() < 0.2 ? ` Apt ${randomInt(1, 40)}` : ''
  return {
    name: `${first} ${last}`,
    email: `${emailPart(first)}.${emailPart(last)}${randomInt(1, 9999)}@example.com`,
    address: `${randomInt(1, 9999)} ${pick(STREETS)} ${pick(STREET_SUFFIXES)}${unit}`,
    city,
    state,
    zip: `${zip3}${String(randomInt(0, 99)).padStart(2, '0')}`,
  }
}

/**
 * Quantity for one line item: mostly 1, sometimes up to 3.
 * @returns {number}
 */
export function randomQuantity() {
  const r = Math.random()
  if (r < 0.7) return 1
  if (r < 0.9) return 2
  return 3
}

/**
 * RFC 4122 version-4 UUID from k6/crypto random bytes.
 * @returns {string}
 */
export function uuidv4() {
  const bytes = new Uint8Array(randomBytes(16))
  bytes[6] = ((bytes[6] || 0) & 0x0f) | 0x40
  bytes[8] = ((bytes[8] || 0) & 0x3f) | 0x80
  let hex = ''
  for (let i = 0; i < bytes.length; i++) hex += ((bytes[i] || 0) + 0x100).toString(16).slice(1)
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`
}
