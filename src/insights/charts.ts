import type { InsightsOverview, StateInsights } from './schemas.ts'
import { usMap } from './us-map.ts'

const count = new Intl.NumberFormat('en-US')
const plural = (n: number, word: string) => `${count.format(n)} ${word}${n === 1 ? '' : 's'}`

/** Shading classes: map-c0 is "no orders", map-c1 .. map-c5 light to dark (colours in site.css). */
const shades = 5

export interface LegendEntry {
  className: string
  label: string
}

/**
 * Upper bounds of the shading classes, at quantiles of the states that have orders: sales are
 * skewed (a few big states dominate), so equal-width classes would leave most states pale.
 */
export function shadeBreaks(orders: number[]): number[] {
  const sold = orders.filter((o) => o > 0).sort((a, b) => a - b)
  const breaks: number[] = []
  for (let k = 1; k <= shades; k++) {
    const bound = sold[Math.ceil((k * sold.length) / shades) - 1]
    if (bound !== undefined && bound !== breaks[breaks.length - 1]) breaks.push(bound)
  }
  return breaks
}

export function shadeOf(orders: number, breaks: number[]): string {
  if (orders <= 0) return 'map-c0'
  const k = breaks.findIndex((b) => orders <= b)
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

/** The map for one overview: the precomputed shapes, each with its shade and its title. */
export function mapView(overview: InsightsOverview) {
  const byCode = new Map(overview.states.map((s) => [s.state, s]))
  const breaks = shadeBreaks(overview.states.map((s) => s.orders))
  const states: MapState[] = usMap.states.map((shape) => {
    const s = byCode.get(shape.code)
    const orders = s?.orders ?? 0
    const best = s?.topProduct ? `best seller: ${s.topProduct.name}` : 'no best seller yet'
    return {
      code: shape.code,
      name: shape.name,
      d: shape.d,
      className: shadeOf(orders, breaks),
      label: `${shape.name}: ${plural(orders, 'order')}, ${best}`,
    }
  })
  const legend: LegendEntry[] = [{ className: 'map-c0', label: 'No orders yet' }]
  breaks.forEach((upper, i) => {
    const lower = i === 0 ? 1 : (breaks[i - 1] ?? 0) + 1
    legend.push({
      className: shadeOf(upper, breaks),
      label:
        lower === upper
          ? plural(upper, 'order')
          : `${count.format(lower)} to ${count.format(upper)} orders`,
    })
  })
  return { width: usMap.width, height: usMap.height, states, legend }
}

export interface Bar {
  sku: string
  name: string
  units: number
  revenueCents: number
  /** Top of the bar's row, and its length, in the chart's own coordinates. */
  y: number
  width: number
}

/** A horizontal bar per product, its length by units, for a state's page. */
export function barChart(insights: StateInsights) {
  const rowHeight = 34
  const labelWidth = 190
  const plotWidth = 360
  const max = Math.max(1, ...insights.products.map((p) => p.units))
  const bars: Bar[] = insights.products.map((p, i) => ({
    sku: p.sku,
    name: p.name,
    units: p.units,
    revenueCents: p.revenueCents,
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
