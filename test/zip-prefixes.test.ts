// The ZIP-to-state table (src/zip-prefixes.ts) against real ZIP codes: every state's capital,
// towns on both sides of state lines, ZIPs that cross one, and the addresses the benches, the
// seed and k6 post. Each ZIP here was checked against the zipcodes npm package's list of USPS
// ZIPs (their state) when the table was written.
import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { stateAddress, stateAddresses } from '../scripts/state-addresses.ts'
import { stateCodes, usStates } from '../src/us-states.ts'
import { zipStateMismatch } from '../src/zip-prefixes.ts'
import { states as benchStates } from './bench/flows.ts'

/** "CODE ZIP": a ZIP code of each state's capital (DC: Washington). */
const capitals = `AL 36104, AK 99801, AZ 85004, AR 72201, CA 95814, CO 80202, CT 06103, DE 19901,
  DC 20001, FL 32301, GA 30303, HI 96813, ID 83702, IL 62701, IN 46204, IA 50309, KS 66612,
  KY 40601, LA 70802, ME 04330, MD 21401, MA 02108, MI 48933, MN 55102, MS 39201, MO 65101,
  MT 59601, NE 68508, NV 89701, NH 03301, NJ 08608, NM 87501, NY 12207, NC 27601, ND 58501,
  OH 43215, OK 73105, OR 97301, PA 17101, RI 02903, SC 29201, SD 57501, TN 37219, TX 78701,
  UT 84111, VT 05602, VA 23219, WA 98501, WV 25301, WI 53703, WY 82001`

/** Towns facing each other across a state line, each with its own state's ZIP. */
const borderTowns = `TX 75501 Texarkana, AR 71854 Texarkana, TN 37620 Bristol, VA 24201 Bristol,
  MO 64105 Kansas City, KS 66101 Kansas City, CA 96150 South Lake Tahoe, NV 89449 Stateline,
  ME 03904 Kittery, NH 03801 Portsmouth, VT 05301 Brattleboro, NH 03451 Hinsdale,
  DE 19940 Delmar, MD 21875 Delmar, WV 25425 Harpers Ferry, MD 21716 Brunswick,
  NV 89883 West Wendover, UT 84083 Wendover, AZ 85364 Yuma, CA 92283 Winterhaven,
  WA 98660 Vancouver, OR 97217 Portland, ID 83843 Moscow, WA 99163 Pullman,
  ND 58102 Fargo, MN 56560 Moorhead, IA 51101 Sioux City, NE 68776 South Sioux City,
  SD 57049 North Sioux City, NE 68102 Omaha, IA 51501 Council Bluffs, IA 52801 Davenport,
  IL 61201 Rock Island, MO 63101 Saint Louis, IL 62201 East Saint Louis, OH 45202 Cincinnati,
  KY 41011 Covington, KY 40202 Louisville, IN 47130 Jeffersonville, TN 37402 Chattanooga,
  GA 30741 Rossville, GA 30901 Augusta, SC 29841 North Augusta, SC 29715 Fort Mill,
  TN 38103 Memphis, AR 72301 West Memphis, MS 38671 Southaven, AL 36867 Phenix City,
  GA 31901 Columbus, VA 22201 Arlington, MD 20910 Silver Spring, DC 20011 Washington,
  NY 10001 New York, NJ 07302 Jersey City, CT 06830 Greenwich, NY 10573 Port Chester,
  RI 02903 Providence, MA 02771 Seekonk, WV 24701 Bluefield, VA 24605 Bluefield,
  TX 79901 El Paso, NM 88063 Sunland Park`

/** ZIPs whose state is not their prefix's, or of an odd prefix: each with its state. */
const oddOnes = `NY 00501 Holtsville, NY 00544 Holtsville, NY 06390 Fishers Island, TX 73960 Texhoma,
  OK 73949 Texhoma, WY 83414 Alta, MA 05501 Andover, TX 73301 Austin, TX 88510 El Paso,
  GA 39901 Atlanta, DC 56901 Washington, VA 20101 Dulles`

const entries = (list: string) =>
  list.split(',').map((entry) => {
    const [state = '', zip = '', ...town] = entry.trim().split(' ')
    return { state, zip, town: town.join(' ') }
  })

/** Some other state than `state` (the next in usStates' order). */
const another = (state: string) =>
  stateCodes[(stateCodes.indexOf(state) + 1) % stateCodes.length] as string

/** A state as the refusal names it: DC is "the District of Columbia" in a sentence. */
const place = (code: string) => (code === 'DC' ? 'the District of Columbia' : usStates[code])

describe('zipStateMismatch', () => {
  it("takes each state's capital with its state and refuses it with every other, naming its state", () => {
    const capital = entries(capitals)
    expect(capital.map((c) => c.state).sort()).toEqual([...stateCodes].sort())
    for (const { state, zip } of capital) {
      expect(zipStateMismatch(zip, state), `${zip} ${state}`).toBeUndefined()
      expect(zipStateMismatch(`${zip}-1234`, state), `${zip}-1234 ${state}`).toBeUndefined()
      for (const other of stateCodes.filter((s) => s !== state)) {
        expect(zipStateMismatch(zip, other)).toBe(
          `ZIP code ${zip} is in ${place(state)}, not ${place(other)}.`,
        )
      }
    }
  })

  it('takes towns on either side of a state line, and ZIPs of odd prefixes, with their own state only', () => {
    for (const { state, zip, town } of [...entries(borderTowns), ...entries(oddOnes)]) {
      expect(zipStateMismatch(zip, state), `${town} ${state} ${zip}`).toBeUndefined()
      expect(zipStateMismatch(zip, another(state)), `${town} ${zip}`).toBe(
        `ZIP code ${zip} is in ${place(state)}, not ${place(another(state))}.`,
      )
    }
  })

  it('takes a ZIP that crosses a state line with either state (Fort Campbell 42223: KY, TN)', () => {
    const crossing = [
      ['42223', 'KY', 'TN'],
      ['31905', 'GA', 'AL'],
      ['97635', 'OR', 'CA'],
      ['89439', 'NV', 'CA'],
      ['59221', 'MT', 'ND'],
      ['73949', 'OK', 'TX'],
      ['81137', 'CO', 'NM'],
      ['99362', 'WA', 'OR'],
    ] as const
    for (const [zip, usps, other] of crossing) {
      expect(zipStateMismatch(zip, usps), `${zip} ${usps}`).toBeUndefined()
      expect(zipStateMismatch(zip, other), `${zip} ${other}`).toBeUndefined()
      expect(zipStateMismatch(`${zip}-0001`, other), `${zip}-0001 ${other}`).toBeUndefined()
    }
    expect(zipStateMismatch('42223', 'CA')).toBe('ZIP code 42223 is in Kentucky, not California.')
    // A ZIP the USPS gives another state than its prefix's: the prefix's state is taken too.
    expect(zipStateMismatch('06390', 'CT')).toBeUndefined()
    expect(zipStateMismatch('06390', 'NJ')).toBe('ZIP code 06390 is in New York, not New Jersey.')
    // DC is "the District of Columbia" in a sentence, on either side (a review).
    expect(zipStateMismatch('20301', 'VA')).toBe(
      'ZIP code 20301 is in the District of Columbia, not Virginia.',
    )
    expect(zipStateMismatch('10001', 'DC')).toBe(
      'ZIP code 10001 is in New York, not the District of Columbia.',
    )
  })

  it('refuses a ZIP starting 000 to 004, whatever the state, and takes 00501 and 00544 (NY)', () => {
    for (const zip of ['00000', '00012', '00123', '00499', '00400-1234']) {
      const sentence = `ZIP code ${zip} does not exist: no ZIP code starts with 000 to 004.`
      expect(zipStateMismatch(zip, 'NY')).toBe(sentence)
      expect(zipStateMismatch(zip, undefined)).toBe(sentence)
    }
    expect(zipStateMismatch('00501', 'NY')).toBeUndefined()
    expect(zipStateMismatch('00544', 'NY')).toBeUndefined()
    expect(zipStateMismatch('00544', 'CA')).toBe('ZIP code 00544 is in New York, not California.')
  })

  it('refuses, with every state, ZIPs of territories and APO/FPO areas, naming where they are', () => {
    const outside = {
      '00901': 'Puerto Rico', // San Juan
      '00802': 'the U.S. Virgin Islands', // St. Thomas
      '96910': 'Guam or the Pacific islands that share its ZIP codes', // Hagatna, GU
      '96950': 'Guam or the Pacific islands that share its ZIP codes', // Saipan, MP
      '09012': 'an APO/FPO area (Armed Forces Europe)',
      '34001': 'an APO/FPO area (Armed Forces Americas)',
      '96201': 'an APO/FPO area (Armed Forces Pacific)',
    }
    for (const [zip, where] of Object.entries(outside)) {
      for (const state of stateCodes) {
        expect(zipStateMismatch(zip, state), `${zip} ${state}`).toBe(
          `ZIP code ${zip} is in ${where}, not ${place(state)}. We ship to the 50 states and DC only.`,
        )
      }
    }
    // Pago Pago AS has Hawaii's prefix 967, yet no Hawaii address has its ZIP: refused with
    // Hawaii too, while Hawaii's own ZIPs are taken.
    expect(zipStateMismatch('96799', 'HI')).toBe(
      'ZIP code 96799 is in American Samoa, not Hawaii. We ship to the 50 states and DC only.',
    )
    expect(zipStateMismatch('96799', 'TX')).toBe(
      'ZIP code 96799 is in American Samoa, not Texas. We ship to the 50 states and DC only.',
    )
    expect(zipStateMismatch('96813', 'HI')).toBeUndefined()
  })

  it('takes, with any state, ZIPs of a shared prefix and unassigned ones', () => {
    const anyState = [
      '20505', // a federal agency's ZIP (205: DC's, Maryland's and Virginia's)
      '09901', // 099: no state has it yet
      '21301', // 213
      '87201', // 872
      '98701', // 987
    ]
    for (const zip of anyState) {
      for (const state of stateCodes) {
        expect(zipStateMismatch(zip, state), `${zip} ${state}`).toBeUndefined()
      }
    }
  })

  it('leaves what is not a ZIP to the schema, and compares no state when it is undefined', () => {
    for (const zip of ['', '1', 'abcde', '7870', ' 78701']) {
      expect(zipStateMismatch(zip, 'CA')).toBeUndefined()
    }
    expect(zipStateMismatch('10001', undefined)).toBeUndefined()
  })
})

describe('the addresses that benches, the seed and k6 ship to', () => {
  it("scripts/state-addresses.ts: each state's city and ZIP, every state and DC", () => {
    expect(stateAddresses.map((a) => a.code).sort()).toEqual([...stateCodes].sort())
    for (const { code, city, zip } of stateAddresses) {
      expect(zipStateMismatch(zip, code), `${city} ${code} ${zip}`).toBeUndefined()
    }
  })

  it("the wrk scripts' addresses (form.lua) are scripts/state-addresses.ts's, for every bench state", () => {
    const lua = readFileSync('test/bench/wrk/form.lua', 'utf8')
    const addresses = new Map(
      [...lua.matchAll(/([A-Z]{2}) = \{ "([^"]+)", "(\d{5})" \}/g)].map((m) => [
        m[1],
        { city: m[2], zip: m[3] },
      ]),
    )
    expect([...addresses.keys()].sort()).toEqual([...benchStates].sort())
    for (const state of benchStates) {
      const { city, zip } = stateAddress(state)
      expect(addresses.get(state), state).toEqual({ city, zip })
    }
  })

  it("k6's customers: each state's 3-digit prefix, with any last two digits", () => {
    const data = readFileSync('k6/lib/data.js', 'utf8')
    const states = [...data.matchAll(/\['([A-Z]{2})', [\d.]+, '[^']+', '(\d{3})'\]/g)]
    expect(states).toHaveLength(50)
    for (const [, code = '', zip3 = ''] of states) {
      for (const last of ['00', '50', '99']) {
        expect(zipStateMismatch(zip3 + last, code), `${code} ${zip3}${last}`).toBeUndefined()
      }
    }
  })
})
