/**
 * A city and a ZIP code of it, and the share of the US population (2020 census, thousands), for
 * each state and DC: the addresses the seed (seed-orders.ts) and the benchmarks ship to. An
 * order's ZIP code must be one of its state's (src/zip-prefixes.ts): a bench posting Austin's
 * 78701 with another state would measure refusals. `test/zip-prefixes.test.ts` holds each pair
 * to the service's check.
 */
const stateTable = `AL 5024 Birmingham 35203|AK 733 Anchorage 99501|AZ 7152 Phoenix 85004|AR 3012 Little Rock 72201
|CA 39538 Los Angeles 90012|CO 5774 Denver 80202|CT 3606 Hartford 06103|DE 990 Wilmington 19801
|DC 690 Washington 20001|FL 21538 Miami 33130|GA 10712 Atlanta 30303|HI 1455 Honolulu 96813
|ID 1839 Boise 83702|IL 12813 Chicago 60601|IN 6786 Indianapolis 46204|IA 3190 Des Moines 50309
|KS 2938 Wichita 67202|KY 4506 Louisville 40202|LA 4658 New Orleans 70112|ME 1362 Portland 04101
|MD 6177 Baltimore 21201|MA 7030 Boston 02108|MI 10077 Detroit 48226|MN 5706 Minneapolis 55401
|MS 2961 Jackson 39201|MO 6155 Kansas City 64105|MT 1084 Billings 59101|NE 1962 Omaha 68102
|NV 3105 Las Vegas 89101|NH 1377 Manchester 03101|NJ 9289 Newark 07102|NM 2118 Albuquerque 87102
|NY 20201 New York 10007|NC 10439 Charlotte 28202|ND 779 Fargo 58102|OH 11799 Columbus 43215
|OK 3959 Oklahoma City 73102|OR 4237 Portland 97204|PA 13003 Philadelphia 19107|RI 1097 Providence 02903
|SC 5118 Charleston 29401|SD 887 Sioux Falls 57104|TN 6911 Nashville 37203|TX 29146 Houston 77002
|UT 3272 Salt Lake City 84111|VT 643 Burlington 05401|VA 8631 Virginia Beach 23451|WA 7705 Seattle 98104
|WV 1794 Charleston 25301|WI 5894 Milwaukee 53202|WY 577 Cheyenne 82001`

export interface StateAddress {
  /** USPS code. */
  code: string
  /** People, thousands. */
  weight: number
  city: string
  zip: string
}

export const stateAddresses: readonly StateAddress[] = stateTable.split('|').map((entry) => {
  const [code, people, ...rest] = entry.trim().split(' ')
  const zip = rest.pop() as string
  return { code: code as string, weight: Number(people), city: rest.join(' '), zip }
})

const byCode = new Map(stateAddresses.map((a) => [a.code, a]))

/** The city and ZIP code of `code`'s address; throws for a code not in the table. */
export function stateAddress(code: string): StateAddress {
  const address = byCode.get(code)
  if (!address) throw new Error(`no address for state ${code}`)
  return address
}
