import type { StateSummary, TopProduct } from './schemas.ts'
import { usMap } from './us-map.ts'

const count = new Intl.NumberFormat('en-US')
const plural = (n: number, word: string) => `${count.format(n)} ${word}${n === 1 ? '' : 's'}`

/** Shading classes: map-c0 is "none", map-c1 .. map-c5 light to dark (colours in site.css). */
const shades = 5

export interface LegendEntry {
  className: string
  label: string
}

/**
 * Upper bounds of the shading classes, at quantiles of the states that have any: sales are
 * skewed (a few big states dominate), so equal-width classes would leave most states pale.
 */
export function shadeBreaks(values: number[]): number[] {
  const sold = values.filter((o) => o > 0).sort((a, b) => a - b)
  const breaks: number[] = []
  for (let k = 1; k <= shades; k++) {
    const bound = sold[Math.ceil((k * sold.length) / shades) - 1]
    if (bound !== undefined && bound !== breaks[breaks.length - 1]) breaks.push(bound)
  }
  return breaks
}

export function shadeOf(value: number, breaks: number[]): string {
  if (value <= 0) return 'map-c0'
  const k = breaks.findIndex((b) => value <= b)
  // With fewer distinct bounds than classes, spread them so the darkest still means "most".
  const index = k < 0 ? breaks.length - 1 : k
  const level =
    breaks.length <= 1 ? shades : Math.round(1 + (index * (shades - 1)) / (breaks.length - 1))
  return `map-c${level}`
}

export interface MapState {
  code: string
  name: string
  d: string
  className: string
  /** What hovering (SVG <title>) and assistive technology say about the state. */
  label: string
}

/**
 * What the map shades by: orders on the staff's page, items sold (units) on the public one,
 * which shows no order counts. Each with the word its titles and legend use.
 */
export type MapMeasure = 'orders' | 'units'
const measureWords: Record<MapMeasure, { word: string; none: string }> = {
  orders: { word: 'order', none: 'No orders yet' },
  units: { word: 'item', none: 'Nothing sold yet' },
}

/** A state as the map needs it: `orders` only when the map is shaded by orders. */
export type MapInput = Pick<StateSummary, 'state' | 'units' | 'topProduct'> & { orders?: number }

/** The map for one overview's states: the precomputed shapes, each with its shade and title. */
export function mapView(overviewStates: readonly MapInput[], measure: MapMeasure) {
  const { word, none } = measureWords[measure]
  const measured = (s: MapInput | undefined) => (measure === 'orders' ? s?.orders : s?.units) ?? 0
  const byCode = new Map(overviewStates.map((s) => [s.state, s]))
  const breaks = shadeBreaks(overviewStates.map(measured))
  const states: MapState[] = usMap.states.map((shape) => {
    const s = byCode.get(shape.code)
    const value = measured(s)
    const best = s?.topProduct ? `best seller: ${s.topProduct.name}` : 'no best seller yet'
    return {
      code: shape.code,
      name: shape.name,
      d: shape.d,
      className: shadeOf(value, breaks),
      label: `${shape.name}: ${plural(value, word)}, ${best}`,
    }
  })
  const legend: LegendEntry[] = [{ className: 'map-c0', label: none }]
  breaks.forEach((upper, i) => {
    const lower = i === 0 ? 1 : (breaks[i - 1] ?? 0) + 1
    legend.push({
      className: shadeOf(upper, breaks),
      label:
        lower === upper
          ? plural(upper, word)
          : `${count.format(lower)} to ${count.format(upper)} ${word}s`,
    })
  })
  const { width, height, focusRings } = usMap
  return { width, height, states, focusRings, legend, measure }
}

export interface Bar {
  sku: string
  name: string
  units: number
  /** Only on the staff's page. */
  revenueCents?: number
  /** Top of the bar's row, and its length, in the chart's own coordinates. */
  y: number
  width: number
}

/** A horizontal bar per product, its length by units, for a state's page. */
export function barChart(insights: { products: (TopProduct & { revenueCents?: number })[] }) {
  const rowHeight = 34
  const labelWidth = 190
  const plotWidth = 360
  const max = Math.max(1, ...insights.products.map((p) => p.units))
  const bars: Bar[] = insights.products.map((p, i) => ({
    sku: p.sku,
    name: p.name,
    units: p.units,
    ...(p.revenueCents === undefined ? {} : { revenueCents: p.revenueCents }),
    y: i * rowHeight,
    width: Math.max(2, Math.round((p.units / max) * plotWidth)),
  }))
  return {
    width: labelWidth + plotWidth + 110,
    height: Math.max(rowHeight, bars.length * rowHeight),
    rowHeight,
    labelWidth,
    bars,
  }
}
