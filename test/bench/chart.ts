/** A horizontal bar chart of requests per second, as a self-contained SVG. */
export function chart(
  rows: { case: string; rps: number; p99: number; tool: string }[],
  meta: { date: string; machine: string; workers: number; connections: number; duration: number },
): string {
  const barH = 26
  const left = 330
  const width = 900
  const max = Math.max(...rows.map((r) => r.rps), 1)
  const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')
  const bars = rows.map((r, i) => {
    const y = 50 + i * (barH + 8)
    const w = ((width - left - 150) * r.rps) / max
    const label = r.tool === 'pgbench' ? `${r.rps} tps` : `${r.rps} req/s · p99 ${r.p99} ms`
    return `<text x="${left - 8}" y="${y + 17}" text-anchor="end">${esc(r.case)}</text>
<rect x="${left}" y="${y}" width="${w.toFixed(1)}" height="${barH}" fill="${r.tool === 'pgbench' ? '#a04000' : '#1e6b52'}"/>
<text x="${(left + w + 6).toFixed(1)}" y="${y + 17}">${label}</text>`
  })
  const height = 70 + rows.length * (barH + 8)
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif" font-size="12">
<rect width="100%" height="100%" fill="#fff"/>
<text x="10" y="22" font-size="14" font-weight="bold">npm run bench · ${esc(meta.date)} · ${esc(meta.machine)} · ${meta.workers} worker(s), ${meta.connections} connections, ${meta.duration} s each</text>
${bars.join('\n')}
</svg>
`
}
