/**
 * Checks of settings that a schema pattern cannot make: TRUST_PROXY's addresses as Fastify reads
 * them, whether LOG_FILE can be written, HOST's shape and name, MAX_HEAP_USED_MB against the
 * heap. config.ts turns each problem into its ConfigError (server.ts: hostLookupProblem's).
 */
import { lookup } from 'node:dns/promises'
import { accessSync, closeSync, constants, mkdirSync, openSync, statSync } from 'node:fs'
import { isIP } from 'node:net'
import { dirname, resolve } from 'node:path'
import { getHeapStatistics } from 'node:v8'
import ipaddr from 'ipaddr.js'

const hostMessage =
  'give an IP address (0.0.0.0: every interface; 127.0.0.1: this machine only) or a host name of this machine'

// RFC 1123 host names: dot-separated labels of letters, digits and inner hyphens.
const hostName =
  /^(?=.{1,253}\.?$)[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?(\.[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)*\.?$/

/** Why HOST is neither an IP address nor a host name (`[::1]`, `a b`, a URL), or undefined. */
export function hostProblem(host: string): string | undefined {
  if (isIP(host) || hostName.test(host)) return undefined
  return `${JSON.stringify(host)} is not an IP address or a host name: ${hostMessage}`
}

/**
 * Why HOST, a name, cannot be listened on because it does not resolve (ENOTFOUND, EAI_AGAIN),
 * or undefined (an IP address is not looked up). Async, unlike the checks in loadConfig: the
 * server checks it before it opens the database, so a typo costs no migration.
 */
export async function hostLookupProblem(host: string): Promise<string | undefined> {
  if (isIP(host)) return undefined
  try {
    await lookup(host)
    return undefined
  } catch (err) {
    const code = (err as { code?: string }).code ?? 'an error'
    return `${host} does not resolve to an address (${code}): ${hostMessage}`
  }
}

/**
 * Why MAX_HEAP_USED_MB can never be reached, or undefined: the heap cannot grow past V8's limit
 * (npm start's --max-old-space-size and --max-semi-space-size), so a value at or above it would
 * leave the 503-when-full protection off without a word.
 */
export function heapProblem(maxHeapUsedMb: number | undefined): string | undefined {
  if (maxHeapUsedMb === undefined) return undefined
  const limitMb = Math.floor(getHeapStatistics().heap_size_limit / (1024 * 1024))
  if (maxHeapUsedMb < limitMb) return undefined
  return `is ${maxHeapUsedMb} MB, at or above this process's heap limit of ${limitMb} MB (node --max-old-space-size), so it could never trigger: give less than ${limitMb}, or leave it unset for 90% of the limit (${Math.floor(limitMb * 0.9)})`
}

/**
 * TRUST_PROXY's list of front ends, each entry read as Fastify reads it (@fastify/proxy-addr,
 * over ipaddr.js): an address, or an address/prefix length (1 to 32, or 128 for IPv6), or an
 * IPv4 address/netmask. Stricter on one point: an IPv4 address is four decimal parts, not the
 * `999` or `0x7f.1` ipaddr.js also reads. Without this a bad entry passed the setting's pattern
 * and stopped the start with "TypeError: invalid IP address".
 * Returns what is wrong (with the first bad entry) and what to write, to follow "TRUST_PROXY ",
 * or undefined when the value is good.
 */
export function trustProxyProblem(value: string): string | undefined {
  if (value === 'true' || value === 'false' || /^\d+$/.test(value)) return undefined
  // Only a list's entries may have blanks around them (Fastify trims those): "1 " is read as a
  // list of one address, "1", which was then told as "not an IP address".
  const bare = value.trim()
  if (/^(true|false|\d+)$/.test(bare)) {
    return `is ${JSON.stringify(value)}: remove the blank (a space, tab or other white space) before or after ${bare}, which makes it a list of addresses rather than ${/^\d/.test(bare) ? 'a hop count' : `the word ${bare}`}`
  }
  for (const entry of value.split(',').map((e) => e.trim())) {
    const problem = trustedAddressProblem(entry)
    if (problem) {
      return `${problem}: give true, a hop count, or addresses/CIDRs separated by commas`
    }
  }
  return undefined
}

/** Why one TRUST_PROXY entry is not an address or a range, or undefined when it is one. */
function trustedAddressProblem(entry: string): string | undefined {
  if (entry === '') return 'has an empty entry'
  const slash = entry.lastIndexOf('/')
  const address = slash === -1 ? entry : entry.slice(0, slash)
  const range = slash === -1 ? undefined : entry.slice(slash + 1)
  const v4 = ipaddr.IPv4.isValidFourPartDecimal(address)
  if (!v4 && !ipaddr.IPv6.isValid(address)) return `has "${address}", which is not an IP address`
  if (range === undefined) return undefined
  const max = v4 ? 32 : 128
  const bits = /^\d+$/.test(range)
    ? Number(range)
    : v4 && ipaddr.IPv4.isValidFourPartDecimal(range)
      ? ipaddr.IPv4.parse(range).prefixLengthFromSubnetMask()
      : null
  if (bits === null || bits < 1 || bits > max) {
    return `has "${entry}", whose range is not 1 to ${max} bits or a netmask`
  }
  return undefined
}

/**
 * LOG_FILE must be a file this process can append to: not a folder, in a folder that exists
 * or can be made. Checked here, because the transport's worker thread otherwise fails on its
 * own (EISDIR, ENOTDIR, EACCES, ENOENT under /proc), after the start. The clear cases are named
 * first; then the check does what the logger will do, making the folders and opening the file
 * for appending (so it exists afterwards, empty), since a permission test alone passes for root
 * where mkdir still fails.
 * Returns why it cannot be (naming the path at fault), or undefined when it can.
 */
export function logFileProblem(path: string): string | undefined {
  const file = resolve(path)
  const { at, entry } = nearestExisting(file)
  if (at === file && entry?.isDirectory()) return `${path} is a folder: name a file in it`
  if (at === file && !writable(file)) return `${path} is not writable by this process`
  if (at !== file) {
    const folder = folderProblem(dirname(file))
    if (folder) return `${path} cannot be made: ${folder}`
  }
  try {
    closeSync(openSync(file, 'a'))
  } catch (err) {
    return `${path} cannot be made: ${(err as Error).message}`
  }
  return undefined
}

const writable = (p: string) => {
  try {
    accessSync(p, constants.W_OK)
    return true
  } catch {
    return false
  }
}

/** `path` itself when it exists, or the nearest folder above it that does, with its stat. */
function nearestExisting(path: string) {
  let at = path
  let entry = statSync(at, { throwIfNoEntry: false })
  while (!entry && dirname(at) !== at) {
    at = dirname(at)
    try {
      entry = statSync(at, { throwIfNoEntry: false })
    } catch {
      entry = undefined // ENOTDIR: a file further up; found as the walk goes on
    }
  }
  return { at, entry }
}

/**
 * Makes the folder `dir` and the missing ones above it (LOG_FILE's, DATA_DIR), or says why it
 * cannot be: what is in the way (`/x/file is not a folder`, `/x is not writable by this
 * process`) or mkdir's own error. Returns undefined when `dir` is a folder (made, or already
 * there and writable).
 */
export function folderProblem(dir: string): string | undefined {
  const folder = resolve(dir)
  const { at, entry } = nearestExisting(folder)
  if (!entry?.isDirectory()) return `${at} is not a folder`
  if (!writable(at)) return `${at} is not writable by this process`
  try {
    // One level at a time, from the folder that exists down: mkdirSync's `recursive` loops for
    // ever where mkdir answers ENOENT under a folder that exists (/proc/nope: the parent is
    // "made", EEXIST, and the child tried again), which is what hung the log's worker thread
    // and, with DATA_DIR=/proc/nope, the start (at full CPU, without a word).
    const missing: string[] = []
    for (let d = folder; d !== at; d = dirname(d)) missing.unshift(d)
    for (const d of missing) mkdirSync(d)
  } catch (err) {
    return (err as Error).message
  }
  return undefined
}

// App Service's Key Vault reference syntax (@Microsoft.KeyVault(SecretUri=…) or
// (VaultName=…;SecretName=…)). App Service replaces a reference by the secret before the process
// starts; one it cannot resolve is passed on as its own text.
const keyVaultReference = /^\s*@Microsoft\.KeyVault\(/i

/**
 * The first of `names` whose value in `env` is a Key Vault reference App Service did not
 * resolve, with the reference's text (a secret's address, no secret), or undefined. Such a value
 * is never what the service should run with: it is refused at start, so /readyz never answers and
 * CD's check of the staging slot stops the release.
 */
export function unresolvedReference(
  env: Record<string, string | undefined>,
  names: readonly string[],
): { name: string; reference: string } | undefined {
  for (const name of names) {
    const value = env[name]
    if (value !== undefined && keyVaultReference.test(value)) {
      return { name, reference: value.trim().slice(0, 200) }
    }
  }
  return undefined
}

/** Why a reference does not resolve, most likely first (docs/deployment.md, "Secrets in Key Vault"). */
export const unresolvedReferenceCauses =
  "App Service could not read the secret and passed the reference's text instead. Likely causes: the identity in the app's keyVaultReferenceIdentity has no get permission on secrets in the vault's access policies, or the app has no keyVaultReferenceIdentity; the vault or the secret does not exist (a name mistyped, a vault deleted or soft-deleted); the vault's network rules keep App Service out. The app's Environment variables page shows each reference's status; fix it, then restart the app (docs/deployment.md, \"Secrets in Key Vault\")"

/** What a refused DATABASE_URL / MIGRATION_DATABASE_URL shows the operator (no value quoted). */
const databaseUrlShape =
  'give one like postgres://user:password@db.example.com:5432/orders, with / ? # @ : in the user or password percent-encoded (/ as %2F, ? as %3F, # as %23, @ as %40, : as %3A)'

/**
 * Whether a postgres:// URL that databaseUrlProblem took has no database name in its path, or
 * one of blanks only (`/%20`: a name no one means, whose createdb line would be blank).
 */
export const namesNoDatabase = (value: string): boolean =>
  decodeURIComponent(new URL(value).pathname.slice(1)).trim() === ''

/**
 * Why a postgres:// URL (DATABASE_URL, MIGRATION_DATABASE_URL) cannot be used, completing
 * "DATABASE_URL …", or undefined: a /, ? or # in the password not percent-encoded (an @ after
 * one: the host is then read from the password, or the URL not at all), a port outside 1-65535, anything else
 * the URL parser refuses. Never quotes the value: it holds a password. Without this the start
 * stopped with `TypeError: Invalid URL` and the URL, password and all, in its `input`.
 */
export function databaseUrlProblem(value: string): string | undefined {
  const rest = value.replace(/^[a-z][a-z0-9+.-]*:\/\//i, '')
  const authority = /^[^/?#]*/.exec(rest)?.[0] ?? ''
  // An @ past the authority: the password (or user) held a / ? or # that ended the authority
  // early, so the host would be read from the password (`p@ss/w@db` connects to "ss" and says
  // so). In the path (the database's name, where an @ is written %40) any @ is that; in the
  // query or fragment, one followed by a / or :, as a host is (`?application_name=a@b` is not).
  const after = rest.slice(authority.length)
  const path = /^[^?#]*/.exec(after)?.[0] ?? ''
  if (path.includes('@') || /@[^/:]*[/:]/.test(after.slice(path.length)))
    return `has an @ after a /, ? or #: a password (or user) holding one must have it percent-encoded: ${databaseUrlShape}`
  const hostPort = authority.slice(authority.lastIndexOf('@') + 1)
  const port = /^(?:\[[^\]]*\]|[^:]*):(.*)$/.exec(hostPort)?.[1]
  if (port && !(/^\d{1,5}$/.test(port) && +port >= 1 && +port <= 65535))
    return `has a port that is not a number from 1 to 65535: ${databaseUrlShape}`
  let url: URL
  try {
    url = new URL(value)
  } catch {
    return `is not a URL the service can read: ${databaseUrlShape}`
  }
  try {
    decodeURIComponent(url.pathname)
  } catch {
    return `has a % in its database name that is not followed by two hex digits: write a % in the name as %25, and give the rest ${databaseUrlShape.replace(/^give /, '')}`
  }
  return undefined
}

// The query parameters pg reads from a postgres:// URL (pg-connection-string, then pg's
// ConnectionParameters), TLS ones included (src/db/tls.ts says which of them it refuses).
const databaseUrlParameters = new Set([
  ...['host', 'port', 'user', 'password', 'database', 'options', 'client_encoding', 'binary'],
  ...['application_name', 'fallback_application_name', 'replication', 'query_timeout'],
  ...['statement_timeout', 'lock_timeout', 'idle_in_transaction_session_timeout'],
  ...['ssl', 'sslmode', 'sslrootcert', 'sslcert', 'sslkey', 'sslnegotiation', 'uselibpqcompat'],
])

/**
 * The first query parameter of a postgres:// URL that pg does not read, as "DATABASE_URL …"
 * completes it, or undefined. pg passes over any other silently: a misspelt `sslmod=verify-full`
 * connected without TLS, and libpq's `connect_timeout`, `channel_binding` or
 * `target_session_attrs` did nothing. Names the parameter, never its value.
 */
export function databaseUrlParameterProblem(value: string): string | undefined {
  const names = [...new URL(value).searchParams.keys()]
  // The service reads a TLS parameter's first value (src/db/tls.ts), pg another's last: `sslmode=disable&
  // sslmode=require` connected without TLS. One value each, as the forms ask.
  const twice = names.find((k, i) => names.indexOf(k) !== i)
  if (twice !== undefined)
    return `has the parameter ${JSON.stringify(twice)} more than once, and only one of its values would be read: keep one`
  const unknown = names.find((k) => !databaseUrlParameters.has(k))
  if (unknown === undefined) return undefined
  const timeout =
    unknown === 'connect_timeout' ? ' (the connect timeout is DATABASE_CONNECT_TIMEOUT_MS)' : ''
  return `has the parameter ${JSON.stringify(unknown)}, which the PostgreSQL client does not read and would pass over${timeout}: remove it, or correct its name (TLS is sslmode=verify-full)`
}
