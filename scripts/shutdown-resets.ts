/**
 * What a SIGTERM under load does to the requests clients have sent (docs/operations.md,
 * "Shutdown"): RUNS times, start `node src/server.ts` (on DATABASE_URL, or an embedded database
 * in a folder of its own), let CLIENTS clients place orders on a fresh connection each, SIGTERM
 * once 100 are placed, and count what every request got: a status, ECONNREFUSED (the port was
 * closed: nothing sent), or ECONNRESET / EPIPE (sent, and reset unanswered).
 *
 *   DATABASE_URL=postgres://postgres@127.0.0.1:5432/x npx node scripts/shutdown-resets.ts
 *
 * RUNS (5), CLIENTS (16), OPEN_MS (also a new order every OPEN_MS ms whatever the answers);
 * WEB_CONCURRENCY and SHUTDOWN_DRAIN_MS are passed to the service.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startServer } from '../test/helpers/server.ts'
import { shutdownUnderLoad, tally } from '../test/helpers/shutdown-load.ts'

const env = process.env
const runs = Number(env.RUNS || 5)
const workers = Number(env.WEB_CONCURRENCY || 1)
const passed = Object.fromEntries(
  ['DATABASE_URL', 'WEB_CONCURRENCY', 'SHUTDOWN_DRAIN_MS']
    .filter((name) => env[name]) // empty is unset, as for the service (src/config.ts)
    .map((name) => [name, env[name] as string]),
)
const dir = mkdtempSync(join(tmpdir(), 'shutdown-resets-'))
try {
  for (let run = 1; run <= runs; run++) {
    const dataDir: Record<string, string> = env.DATABASE_URL ? {} : { DATA_DIR: join(dir, 'data') }
    const server = await startServer({ ...passed, ...dataDir, RATE_LIMIT_MAX: '0' })
    const { outcomes, exit } = await shutdownUnderLoad(server, {
      workers,
      clients: Number(env.CLIENTS ?? 16),
      openEveryMs: Number(env.OPEN_MS ?? 0),
    })
    const reset = outcomes.filter((o) => o.status === 'ECONNRESET' || o.status === 'EPIPE')
    console.log(
      JSON.stringify({ run, reset: reset.length, ...tally(outcomes), exitCode: exit.code }),
    )
  }
} finally {
  rmSync(dir, { recursive: true, force: true })
}
