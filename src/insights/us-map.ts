import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { geoAlbersUsa, geoPath } from 'd3-geo'
import { feature } from 'topojson-client'
import type { GeometryCollection, Topology } from 'topojson-specification'
import { usStates } from '../us-states.ts'

/** Census FIPS code of each state (the ids in us-atlas) to its USPS code. */
const fipsToUsps: Readonly<Record<string, string>> = {
  '01': 'AL',
  '02': 'AK',
  '04': 'AZ',
  '05': 'AR',
  '06': 'CA',
  '08': 'CO',
  '09': 'CT',
  '10': 'DE',
  '11': 'DC',
  '12': 'FL',
  '13': 'GA',
  '15': 'HI',
  '16': 'ID',
  '17': 'IL',
  '18': 'IN',
  '19': 'IA',
  '20': 'KS',
  '21': 'KY',
  '22': 'LA',
  '23': 'ME',
  '24': 'MD',
  '25': 'MA',
  '26': 'MI',
  '27': 'MN',
  '28': 'MS',
  '29': 'MO',
  '30': 'MT',
  '31': 'NE',
  '32': 'NV',
  '33': 'NH',
  '34': 'NJ',
  '35': 'NM',
  '36': 'NY',
  '37': 'NC',
  '38': 'ND',
  '39': 'OH',
  '40': 'OK',
  '41': 'OR',
  '42': 'PA',
  '44': 'RI',
  '45': 'SC',
  '46': 'SD',
  '47': 'TN',
  '48': 'TX',
  '49': 'UT',
  '50': 'VT',
  '51': 'VA',
  '53': 'WA',
  '54': 'WV',
  '55': 'WI',
  '56': 'WY',
}

export interface StateShape {
  code: string
  name: string
  /** SVG path data in the map's own coordinates. */
  d: string
}

/** A ring drawn around a state while it has focus, in the map's coordinates. */
export interface FocusRing {
  code: string
  x: number
  y: number
  r: number
}

export interface UsMap {
  width: number
  height: number
  states: StateShape[]
  /**
   * The states too small to show their own focus, the District of Columbia (4 px across): a ring
   * around each, drawn after every state so that no neighbour covers it (site.css shows it).
   */
  focusRings: FocusRing[]
}

/** States ringed while focused (site.css names each), and the rings' radius. */
const ringed = ['DC']
const ringRadius = 10

const width = 960
const height = 600

/**
 * The 50 states and DC projected once (Albers USA, Alaska and Hawaii inset) into SVG paths:
 * shapes never change, so a request only picks each state's colour and title. Territories in
 * the atlas fall outside the projection and are left out.
 */
function projectStates(): UsMap {
  const file = createRequire(import.meta.url).resolve('us-atlas/states-10m.json')
  const topology = JSON.parse(readFileSync(file, 'utf8')) as Topology<{
    states: GeometryCollection<{ name: string }>
  }>
  const collection = feature(topology, topology.objects.states)
  const projection = geoAlbersUsa().fitExtent(
    [
      [4, 4],
      [width - 4, height - 4],
    ],
    {
      type: 'FeatureCollection',
      features: collection.features.filter((f) => fipsToUsps[String(f.id)]),
    },
  )
  const states: StateShape[] = []
  const focusRings: FocusRing[] = []
  for (const f of collection.features) {
    const code = fipsToUsps[String(f.id)]
    if (!code) continue
    if (ringed.includes(code)) {
      const [[x0, y0], [x1, y1]] = geoPath(projection).bounds(f)
      const r = (n: number) => Math.round(n * 10) / 10
      focusRings.push({ code, x: r((x0 + x1) / 2), y: r((y0 + y1) / 2), r: ringRadius })
    }
    const context = new ThinPath(1)
    geoPath(projection, context)(f)
    states.push({ code, name: usStates[code] ?? code, d: context.toString() })
  }
  return {
    width,
    height,
    states: states.sort((a, b) => a.code.localeCompare(b.code)),
    focusRings,
  }
}

/**
 * A geoPath context that writes SVG path data at 0.1 px and drops points closer than
 * `minStep` px to the last one kept: the 10m atlas has far more detail than a 960 px map
 * shows, and this halves the page (about 90 kB of paths instead of 160 kB).
 */
class ThinPath {
  #minStep: number
  #out: string[] = []
  #ring: [number, number][] = []

  constructor(minStep: number) {
    this.#minStep = minStep
  }

  moveTo(x: number, y: number) {
    this.#flush()
    this.#ring = [[x, y]]
  }

  lineTo(x: number, y: number) {
    const last = this.#ring[this.#ring.length - 1]
    if (!last || Math.hypot(x - last[0], y - last[1]) >= this.#minStep) this.#ring.push([x, y])
  }

  closePath() {
    this.#flush()
  }

  beginPath() {}

  arc() {}

  #flush() {
    // A ring thinned below a triangle is an islet smaller than a pixel or two.
    if (this.#ring.length >= 3) {
      const r = (n: number) => Math.round(n * 10) / 10
      this.#out.push(`M${this.#ring.map(([x, y]) => `${r(x)},${r(y)}`).join('L')}Z`)
    }
    this.#ring = []
  }

  toString() {
    this.#flush()
    return this.#out.join('')
  }
}

export const usMap: UsMap = projectStates()
