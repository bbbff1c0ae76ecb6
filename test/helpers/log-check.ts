/**
 * The suite-wide check that no log line says "[object Object]" (issue 13, item 5): an error
 * logged anywhere must keep its class, message and code. Every logger the app creates in a test
 * process passes its lines through `scanLog` (see log-check-setup.ts, which also makes those
 * loggers write every level, so a test app at `silent` is checked too); the helpers that start
 * `node src/server.ts` pass the child's output through it. The setup fails the test file in
 * `afterAll` when any line was caught.
 */

const marker = '[object Object]'

/** Lines caught so far in this test file: where they came from and the line itself. */
export const caughtLines: { source: string; line: string }[] = []

/** Records every line of `text` that holds "[object Object]". */
export function scanLog(text: string, source: string): void {
  if (!text.includes(marker)) return
  for (const line of text.split('\n')) {
    if (line.includes(marker)) caughtLines.push({ source, line: line.slice(0, 2000) })
  }
}
