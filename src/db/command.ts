import { existsSync, readFileSync } from 'node:fs'
import path from 'node:path'
import { type Config, ConfigError } from '../config.ts'
import { serializeError } from '../plugins/logging.ts'
import { connect } from './connect.ts'
import { DataDirError, EmbeddedDatabaseInUse } from './embedded.ts'
import { databasePassword } from './entra.ts'
import { SearchPathError } from './migrate.ts'
import { fromMigrationUrl } from './prepare-schema.ts'
import { PendingMigrationsError, ServiceRoleMissingError } from './privileges.ts'
import { DatabaseCertificateError, DatabaseTlsSettingError, explainConnectionError } from './tls.ts'

/**
 * The database of a one-shot command (`npm run migrate`, `npm run staff`, `npm run mail`): the
 * service's settings, one connection. The embedded folder must be prepared
 * (prepareEmbeddedDatabase) first. Throws ConfigError for DATA_DIR=memory:// without
 * DATABASE_URL: the command's database would be its own, in its memory, gone when it exits (the
 * service may run so: its database lives as long as it does).
 */
export function commandDatabase(config: Config) {
  if (!config.DATABASE_URL && config.DATA_DIR.startsWith('memory://'))
    throw new ConfigError(
      "Invalid configuration: DATA_DIR=memory:// gives this command an embedded database of its own, in its memory and gone when it exits: nothing it does would reach the service's data. Set DATA_DIR to the service's data folder (like ./data), or DATABASE_URL to its PostgreSQL database.",
    )
  return connect({
    databaseUrl: config.DATABASE_URL,
    dataDir: config.DATA_DIR,
    poolSize: 1,
    // A server that takes the connection and never answers: the command fails, not hangs.
    connectTimeoutMs: config.DATABASE_CONNECT_TIMEOUT_MS,
    caFile: config.DATABASE_CA_FILE,
    password: databasePassword(config),
  })
}

/**
 * The service's own database on PostgreSQL or the embedded folder, as its settings say: the pool
 * size, the connect and statement timeouts, TLS and the password (an Entra ID token, entra.ts).
 * The app's (plugins/db.ts), and the primary's that places the workers' orders (one
 * connection: one batch at a time; `placing orders` in pg_stat_activity).
 */
export const serviceDatabase = (config: Config, { placing = false } = {}) =>
  connect({
    ...(placing ? { applicationName: 'order-service: placing orders' } : {}),
    databaseUrl: config.DATABASE_URL,
    dataDir: config.DATA_DIR,
    poolSize: placing ? 1 : config.DATABASE_POOL_SIZE,
    connectTimeoutMs: config.DATABASE_CONNECT_TIMEOUT_MS,
    statementTimeoutMs: config.DATABASE_STATEMENT_TIMEOUT_MS,
    caFile: config.DATABASE_CA_FILE,
    password: databasePassword(config),
  })

// Errors whose message is already a sentence that says what to do: printed as they are.
const explained = [
  ConfigError,
  EmbeddedDatabaseInUse,
  DataDirError,
  DatabaseCertificateError,
  DatabaseTlsSettingError,
  ServiceRoleMissingError,
  PendingMigrationsError,
  SearchPathError,
]

/** `createdb`'s options for the server and user of a postgres:// URL ('' for its defaults). */
function createdbOptions(databaseUrl: string): string {
  const url = new URL(databaseUrl)
  const host = decodeURIComponent(url.hostname)
  return [
    host && `-h ${host}`,
    url.port && `-p ${url.port}`,
    url.username && `-U ${decodeURIComponent(url.username)}`,
  ]
    .filter(Boolean)
    .map((option) => `${option} `)
    .join('')
}

/** host:port of a postgres:// URL (5432 when it names none): no user, no password. */
function address(databaseUrl: string): string {
  const { hostname, port } = new URL(databaseUrl)
  return `${hostname}:${port || 5432}`
}

// pg-pool's and pg's messages when DATABASE_CONNECT_TIMEOUT_MS passes before the server answers.
const connectTimeout =
  /^(timeout exceeded when trying to connect|Connection terminated due to connection timeout)$/

// What PGlite throws when the files in its folder are not a database its PostgreSQL can open.
const pgliteBroken = 'PGlite failed to initialize properly'

/** `(PG_VERSION 18) ` for the embedded folder in DATA_DIR, or '' when it has none it can read. */
function writtenBy(config: Config): string {
  let version = ''
  try {
    version = readFileSync(path.join(config.DATA_DIR, 'PG_VERSION'), 'utf8').trim().slice(0, 16)
  } catch {}
  return version ? `(PG_VERSION ${version}) ` : ''
}

/** The one line for a DATA_DIR whose database PGlite cannot open, with its PG_VERSION if any. */
const brokenEmbedded = (config: Config) =>
  `The embedded database in DATA_DIR ${config.DATA_DIR} ${writtenBy(config)}could not be opened (${pgliteBroken}): its files are damaged or were not written by this service's embedded PostgreSQL. Move the folder away to start on a new one (keep it to restore from), or set DATABASE_URL.`

/**
 * PGlite's WebAssembly aborting (`RuntimeError: Aborted()`, without a word of why) while it opens
 * an existing folder: its own PostgreSQL found a file it could not read (global/pg_control or a
 * WAL file not readable by this user) or one cut short (a pg_control of zero bytes).
 */
const pgliteAborted = (type: unknown, message: unknown) =>
  type === 'RuntimeError' && String(message).startsWith('Aborted(')

/** The one line for a DATA_DIR whose database PGlite aborted on (pgliteAborted). */
const unreadableEmbedded = (config: Config) =>
  `The embedded database in DATA_DIR ${config.DATA_DIR} ${writtenBy(config)}could not be opened (its PostgreSQL aborted): its files could not be read or are damaged. Check that the folder and every file in it belong to, and can be read and written by, the user this service runs as${process.getuid ? ` (uid ${process.getuid()})` : ''}; or restore the folder from a backup, or set DATABASE_URL.`

/**
 * What stopped a one-shot command or the service's start (src/server.ts), as the one line it
 * prints (without a trailing period or newline of its own added): a database that does not exist says so with the `createdb` line
 * that makes it (server and user from whichever of MIGRATION_DATABASE_URL and DATABASE_URL in
 * `config` names it; `config` is undefined when the settings themselves were at fault); a server
 * that does not answer says where it was looked for; the service's own errors (a setting, an
 * embedded folder in use, a certificate) are their message. Anything unforeseen keeps its class
 * and code, which is what a bug report needs.
 */
export function commandFailure(err: unknown, config?: Config): string {
  // Which connection failed: the owner's (migrations) or the service's own.
  const setting =
    config?.MIGRATION_DATABASE_URL && fromMigrationUrl(err)
      ? 'MIGRATION_DATABASE_URL'
      : 'DATABASE_URL'
  const error = explainConnectionError(err, setting)
  if (explained.some((kind) => error instanceof kind)) return (error as Error).message
  const { type, message, code } = serializeError(error)
  if (code === '3D000') {
    const name = /database "(.+)" does not exist/.exec(String(message))?.[1] ?? ''
    const url = [config?.MIGRATION_DATABASE_URL, config?.DATABASE_URL].find(
      (candidate) => candidate && decodeURIComponent(new URL(candidate).pathname.slice(1)) === name,
    )
    const options = url ? createdbOptions(url) : ''
    return `The database ${name} does not exist on the PostgreSQL server: create it first (createdb ${options}${name}), then run this again.`
  }
  const failedUrl = config?.[setting]
  if (code === 'ECONNREFUSED' && failedUrl) {
    return `No PostgreSQL server answers at ${address(failedUrl)}: start it, or correct ${setting}.`
  }
  // The host's name, mistyped most often: getaddrinfo's words name neither the setting nor why.
  if (failedUrl && (code === 'ENOTFOUND' || code === 'EAI_AGAIN')) {
    // The name looked up, from the error: `?host=` in the URL overrides the URL's own host.
    const looked = (error as { hostname?: unknown }).hostname
    const hostname = typeof looked === 'string' ? looked : new URL(failedUrl).hostname
    return code === 'ENOTFOUND'
      ? `The host ${hostname} in ${setting} was not found (DNS: ${code}): correct the host in ${setting}.`
      : `The host ${hostname} in ${setting} could not be looked up: the DNS did not answer (${code}). Check this machine's DNS, or correct the host in ${setting}.`
  }
  // A socket folder (`?host=/run/postgresql`) with no server's socket in it: connect's words
  // name the file, not the setting.
  if (
    failedUrl &&
    code === 'ENOENT' &&
    typeof (error as { address?: unknown }).address === 'string'
  ) {
    const socket = (error as { address: string }).address
    return `No PostgreSQL server listens on the socket ${socket} (ENOENT): start it, or correct the socket folder (host) in ${setting}.`
  }
  // Something at that address took the connection and closed it without a PostgreSQL error (a
  // server out of connections still says so): another kind of server, or a proxy or firewall.
  if (
    failedUrl &&
    (code === 'ECONNRESET' || String(message) === 'Connection terminated unexpectedly')
  ) {
    return `Whatever answers at ${address(failedUrl)} closed the connection without a word of PostgreSQL's: check that the host and port in ${setting} are a PostgreSQL server's, and that no proxy or firewall between ends the connection.`
  }
  // pg's pool and client, at DATABASE_CONNECT_TIMEOUT_MS: a server that took the connection and
  // never answered (a hung server, a proxy or firewall holding the port).
  if (failedUrl && type === 'Error' && connectTimeout.test(String(message))) {
    return `The PostgreSQL server at ${address(failedUrl)} did not answer within ${config.DATABASE_CONNECT_TIMEOUT_MS} ms (DATABASE_CONNECT_TIMEOUT_MS): check that it is up and reachable, or correct ${setting}.`
  }
  // node-postgres takes the user from the URL, else PGUSER, else USER: a container or CI job often
  // has neither, and the server's own words name a "startup packet", not the setting to change.
  if (code === '28000' && /no PostgreSQL user name specified/.test(String(message))) {
    return `${setting} names no user, and neither PGUSER nor USER is set: write the user into the URL (postgres://user@host:5432/orders), then run this again.`
  }
  // The server's own words name neither the setting nor the server: say which URL to correct.
  if (failedUrl && code === '28000' && /^role ".*" does not exist$/.test(String(message))) {
    return `The PostgreSQL server at ${address(failedUrl)} has no ${String(message).replace(/ does not exist$/, '')}, the user in ${setting}: create it (createuser), or correct ${setting}.`
  }
  if (failedUrl && code === '28P01') {
    return `The PostgreSQL server at ${address(failedUrl)} refused the password of the user in ${setting} (SQLSTATE 28P01): correct the password in ${setting} (percent-encoded), or the user's on the server.`
  }
  // pg's words when the URL asks for TLS (sslmode=require, verify-ca, verify-full) of a server
  // that has it off.
  if (failedUrl && /^The server does not support SSL connections$/.test(String(message))) {
    return `The PostgreSQL server at ${address(failedUrl)} does not accept TLS, which ${setting} asks for (its sslmode): turn ssl on at the server, or, for a server on this machine only, drop sslmode from ${setting}.`
  }
  // Migrated through MIGRATION_DATABASE_URL, then no table where DATABASE_URL serves: the two
  // name different databases (or servers), and the owner's migrations went to the other one.
  if (code === '42P01' && config?.MIGRATION_DATABASE_URL && config.DATABASE_URL) {
    return `DATABASE_URL's database has no ${/relation "(.+)" does not exist/.exec(String(message))?.[1] ?? 'such'} table, which the migrations through MIGRATION_DATABASE_URL make: the two must name the same database on the same server (${address(config.DATABASE_URL)}${new URL(config.DATABASE_URL).pathname} and ${address(config.MIGRATION_DATABASE_URL)}${new URL(config.MIGRATION_DATABASE_URL).pathname} now): correct the one that is wrong.`
  }
  if (message === pgliteBroken && config && !config.DATABASE_URL) return brokenEmbedded(config)
  if (
    pgliteAborted(type, message) &&
    config &&
    !config.DATABASE_URL &&
    existsSync(path.join(config.DATA_DIR, 'PG_VERSION'))
  )
    return unreadableEmbedded(config)
  if (type === 'DatabaseError') return `The database refused: ${message} (SQLSTATE ${code}).`
  // A plain Error of ours (prepare-schema's) is a sentence already.
  if (type === 'Error' && !code) return String(message)
  return `${type}${code ? ` ${code}` : ''}: ${message}`
}
