// Number and text formatting shared by the text summary and its verdict.

/**
 * @param {string} text
 * @param {number} width
 * @returns {string}
 */
export function padRight(text, width) {
  return text.length >= width ? text : text + ' '.repeat(width - text.length)
}

/**
 * @param {string} text
 * @param {number} width
 * @returns {string}
 */
export function padLeft(text, width) {
  return text.length >= width ? text : ' '.repeat(width - text.length) + text
}

/**
 * @param {number} ratio
 * @returns {string}
 */
export function pct(ratio) {
  return `${(ratio * 100).toFixed(2)}%`
}

/**
 * @param {number} n
 * @returns {string}
 */
export function fmt(n) {
  if (!Number.isFinite(n)) return '-'
  if (Math.abs(n) >= 1000) return n.toFixed(0)
  if (Math.abs(n) >= 100) return n.toFixed(1)
  return n.toFixed(2)
}

/**
 * @param {number} ms
 * @returns {string}
 */
export function fmtDuration(ms) {
  const totalSeconds = ms / 1000
  const h = Math.floor(totalSeconds / 3600)
  const m = Math.floor((totalSeconds - h * 3600) / 60)
  const s = totalSeconds - h * 3600 - m * 60
  return `${h ? `${h}h` : ''}${h || m ? `${m}m` : ''}${s.toFixed(1)}s`
}
