/**
 * The first name that appears twice in one object of a JSON text, or undefined when none does.
 * RFC 8259 §4: names SHOULD be unique, and a parser's behaviour with duplicates is unpredictable;
 * JSON.parse keeps the last value, silently. `text` must be valid JSON (JSON.parse took it), so
 * only strings, braces, brackets and commas need reading: one pass that jumps from quote to
 * quote (indexOf), no second parse; an order's body takes about a fifth of its JSON.parse
 * (docs/benchmarks.md).
 */
export function duplicateName(text: string): string | undefined {
  // The names seen in each open object; null for an open array. A Set, not an array: a 64 KiB
  // body of ~6,600 names made an array's includes() quadratic (565 ms a request).
  const open: (Set<string> | null)[] = []
  let nameNext = false
  let i = 0
  while (i < text.length) {
    const c = text.charCodeAt(i)
    if (c === 0x22) {
      const end = closingQuote(text, i)
      if (nameNext) {
        let name = text.slice(i + 1, end)
        if (name.includes('\\')) name = JSON.parse(text.slice(i, end + 1)) as string
        const names = open[open.length - 1] as Set<string>
        if (names.has(name)) return name
        names.add(name)
        nameNext = false
      }
      i = end + 1
      continue
    }
    if (c === 0x7b) {
      open.push(new Set())
      nameNext = true
    } else if (c === 0x5b) open.push(null)
    else if (c === 0x7d || c === 0x5d) open.pop()
    else if (c === 0x2c) nameNext = open[open.length - 1] != null
    i++
  }
  return undefined
}

/** The index of the quote that closes the string opening at `start` (one preceded by an even run of backslashes). */
function closingQuote(text: string, start: number): number {
  let end = text.indexOf('"', start + 1)
  while (end !== -1) {
    let slashes = 0
    while (text.charCodeAt(end - 1 - slashes) === 0x5c) slashes++
    if (slashes % 2 === 0) return end
    end = text.indexOf('"', end + 1)
  }
  return text.length
}
