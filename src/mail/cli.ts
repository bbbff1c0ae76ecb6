import { parseArgs } from 'node:util'
import { type Config, ConfigError, loadConfig } from '../config.ts'
import { commandDatabase, commandFailure } from '../db/command.ts'
import { commandCreatesNotice, prepareEmbeddedDatabase } from '../db/embedded.ts'
import { prepareSchema } from '../db/prepare-schema.ts'
import { givenTwice } from '../staff/cli-args.ts'
import { maxRequeueDays, requeueFailedEmails } from './queue.ts'

/**
 * `npm run mail -- requeue-failed [--days N]` (in the container: `node src/mail/cli.ts …`),
 * against DATABASE_URL or the embedded database in DATA_DIR (stop the service first: one
 * process at a time), as `npm run staff` does. After fixing a mail setting (MAIL_FROM on a
 * domain the SMTP server lets the shop send from, a password), it queues the `failed` e-mails of
 * orders placed in the last N days (default 7, at most 30) again: the running mail senders take
 * them at their next poll (queue.ts requeueFailedEmails). Exit codes: 0 done, 1 failed (one line
 * on stderr says why), 2 bad usage (the reason, then the usage).
 */

export const usage = `Usage: npm run mail -- requeue-failed [--days N]
       npm run mail -- --help`

const help = `${usage}

Queues again the failed order e-mails of orders placed in the last N days (default 7, at most
${maxRequeueDays}), each due at once with 24 hours of retries ahead: run it after fixing the mail
setting that made them fail. Works on DATABASE_URL's database, or on the embedded database in
DATA_DIR (stop the service first). Exit codes: 0 done, 1 failed, 2 bad usage.`

class UsageError extends Error {}

/** The command line's words and options; throws UsageError for an option it does not know. */
function readArgs(argv: string[]) {
  try {
    return parseArgs({
      args: argv,
      allowPositionals: true,
      // Every --days kept, so a second one is refused rather than silently winning.
      options: {
        days: { type: 'string', multiple: true },
        help: { type: 'boolean', short: 'h' },
      },
    })
  } catch {
    throw new UsageError('The options are --days N (with requeue-failed) and --help')
  }
}

/** The command line as the number of days; null for --help; throws UsageError. */
export function parseMailArgs(argv: string[]): number | null {
  const { values, positionals } = readArgs(argv)
  if (values.help) return null
  if (positionals.length !== 1 || positionals[0] !== 'requeue-failed') {
    throw new UsageError('Name one command: requeue-failed')
  }
  const given = values.days ?? []
  if (given.length > 1) throw new UsageError(givenTwice('--days', given))
  const typed = given[0] ?? '7'
  const days = /^\d{1,3}$/.test(typed) ? Number(typed) : Number.NaN
  if (!(days >= 1 && days <= maxRequeueDays)) {
    throw new UsageError(`--days must be a whole number from 1 to ${maxRequeueDays}`)
  }
  return days
}

type Io = { stdout: { write: (s: string) => unknown }; stderr: { write: (s: string) => unknown } }

/**
 * One `npm run mail -- <argv…>` with the settings in `env` (as loadConfig reads them). Resolves
 * with the exit code; never rejects.
 */
export async function runMail(
  argv: string[],
  env: Record<string, string | undefined>,
  io: Io,
): Promise<0 | 1 | 2> {
  let config: Config | undefined
  try {
    const days = parseMailArgs(argv)
    if (days === null) {
      io.stdout.write(`${help}\n`)
      return 0
    }
    config = loadConfig(env)
    if (!config.DATABASE_URL) {
      await prepareEmbeddedDatabase(config.DATA_DIR, (dataDir) =>
        io.stderr.write(`${commandCreatesNotice(dataDir)}\n`),
      )
    }
    const db = commandDatabase(config)
    try {
      await prepareSchema(db, config)
      const count = await requeueFailedEmails(db, days)
      const [what, them] =
        count === 1 ? ['1 failed e-mail', 'it'] : [`${count} failed e-mails`, 'them']
      io.stdout.write(
        `Queued ${what} of orders placed in the last ${days === 1 ? 'day' : `${days} days`} again: the mail senders take ${them} at their next poll.\n`,
      )
    } finally {
      await db.destroy()
    }
    return 0
  } catch (err) {
    if (err instanceof UsageError) {
      io.stderr.write(`${err.message}\n${usage}\n`)
      return 2
    }
    if (err instanceof ConfigError) {
      io.stderr.write(`${err.message}\n`)
      return 1
    }
    io.stderr.write(`Failed: ${commandFailure(err, config)}\n`)
    return 1
  }
}

if (import.meta.main) {
  process.exitCode = await runMail(process.argv.slice(2), process.env, process)
}
