// A webhook dispatcher that never stops on its own: the SIGKILL test runs it as a child process
// and kills it while a receiver holds one of its sends open. Prints one line per recorded attempt.
import { connect } from '../../src/db/connect.ts'
import { startDispatcher } from '../../src/webhooks/dispatcher.ts'
import { checkWebhookUrl } from '../../src/webhooks/url-policy.ts'

const db = connect({ databaseUrl: process.env.DATABASE_URL, dataDir: 'unused', poolSize: 2 })
startDispatcher(db, {
  pollMs: 20,
  leaseMs: Number(process.env.LEASE_MS ?? 30_000),
  timeoutMs: Number(process.env.TIMEOUT_MS ?? 10_000),
  check: checkWebhookUrl,
  allowLocal: true,
  onError: (err) => process.stderr.write(`dispatch error: ${String(err)}\n`),
  onAttempt: (d, result) => process.stdout.write(`attempt ${d.eventId} ${result.ok}\n`),
})
process.stdout.write('started\n')
