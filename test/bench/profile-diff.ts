/**
 * Two CPU profiles side by side (`node --cpu-prof`, e.g. from `npm run bench:ab -- --prof DIR`):
 * self time by package or source file, then by function, largest differences first.
 *
 *   node test/bench/profile-diff.ts DIR/A/*.cpuprofile DIR/B/*.cpuprofile --a-us 53 --b-us 97
 *
 * Idle samples are left out. With `--a-us`/`--b-us` (each side's CPU µs per request, bench:ab's
 * cpuUs) a row is its share of the side's busy samples times that, so µs per request, whatever
 * the two sides' request counts; without them, milliseconds. `--after <text>` (default
 * `place-order`) counts only the samples from 2 s after the last one in a file whose URL holds
 * the text: bench:ab places its lookup orders first, so start-up and placing are left out.
 */
import { readFileSync } from 'node:fs'
import { parseArgs } from 'node:util'

const { values: args, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    'a-us': { type: 'string' },
    'b-us': { type: 'string' },
    after: { type: 'string', default: 'place-order' },
    top: { type: 'string', default: '30' },
  },
})
if (positionals.length !== 2) throw new Error('two .cpuprofile files: A then B')

interface Profile {
  nodes: {
    id: number
    callFrame: { functionName: string; url: string; lineNumber: number }
  }[]
  samples: number[]
  timeDeltas: number[]
}

/** Busy µs by package (or src/ file, or V8's own entries) and by function. */
function load(file: string) {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile
  const frames = new Map(profile.nodes.map((n) => [n.id, n.callFrame]))
  const at: number[] = []
  let t = 0
  let start = 0
  for (const [i, id] of profile.samples.entries()) {
    t += profile.timeDeltas[i] ?? 0
    at.push(t)
    if (args.after && frames.get(id)?.url.includes(args.after)) start = t + 2e6
  }
  const byPackage = new Map<string, number>()
  const byFunction = new Map<string, number>()
  let busy = 0
  const add = (m: Map<string, number>, k: string, us: number) => m.set(k, (m.get(k) ?? 0) + us)
  for (const [i, id] of profile.samples.entries()) {
    const frame = frames.get(id)
    const us = profile.timeDeltas[i] ?? 0
    if (!frame || (at[i] ?? 0) <= start || frame.functionName === '(idle)') continue
    const url = frame.url
    const where =
      /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url)?.[1] ??
      (url.includes('/src/') ? `src/${url.split('/src/')[1]}` : url || frame.functionName)
    const short = url.replace(/.*\/(node_modules|src)\//, '$1/')
    add(byPackage, where, us)
    add(byFunction, `${frame.functionName || '(anonymous)'} ${short}:${frame.lineNumber + 1}`, us)
    busy += us
  }
  return { busy, byPackage, byFunction }
}

const a = load(positionals[0] as string)
const b = load(positionals[1] as string)
const scaleA = args['a-us'] ? Number(args['a-us']) / a.busy : 1 / 1000
const scaleB = args['b-us'] ? Number(args['b-us']) / b.busy : 1 / 1000
const unit = args['a-us'] ? 'µs per request' : 'ms'
console.log(`busy ms: A ${(a.busy / 1000).toFixed(0)}, B ${(b.busy / 1000).toFixed(0)}`)
for (const [title, ma, mb] of [
  ['package or file', a.byPackage, b.byPackage],
  ['function', a.byFunction, b.byFunction],
] as const) {
  const rows = [...new Set([...ma.keys(), ...mb.keys()])].map((k) => {
    const x = (ma.get(k) ?? 0) * scaleA
    const y = (mb.get(k) ?? 0) * scaleB
    return { k, x, y, d: y - x }
  })
  rows.sort((p, q) => Math.abs(q.d) - Math.abs(p.d))
  console.log(`\nby ${title} (${unit}): A, B, B-A`)
  for (const r of rows.slice(0, Number(args.top))) {
    console.log(
      `${r.x.toFixed(2).padStart(8)} ${r.y.toFixed(2).padStart(8)} ${(r.d >= 0 ? '+' : '') + r.d.toFixed(2)}  ${r.k}`,
    )
  }
}
