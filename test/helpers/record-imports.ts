/**
 * Preloaded into a server child process (`NODE_OPTIONS=--import=<this file>`): records every
 * module the process resolves, by import or require (Node 24's in-thread module.registerHooks
 * sees both), and writes their URLs, one a line, to RECORD_IMPORTS_FILE when the process exits.
 * Lets a test say which packages a start path loaded, e.g. none of OpenTelemetry's.
 */
import { writeFileSync } from 'node:fs'
import { registerHooks } from 'node:module'

const file = process.env.RECORD_IMPORTS_FILE
if (file) {
  const seen = new Set<string>()
  registerHooks({
    resolve(specifier, context, nextResolve) {
      const result = nextResolve(specifier, context)
      seen.add(result.url)
      return result
    },
  })
  process.on('exit', () => writeFileSync(file, [...seen].join('\n')))
}
