import { readFileSync } from 'node:fs'
import tls from 'node:tls'

/**
 * How the service speaks TLS to PostgreSQL, decided here rather than by pg's URL parser
 * (pg-connection-string), whose meaning of `sslmode` is about to change: today it treats
 * `require` and `verify-ca` as `verify-full` and warns that its next major will give them
 * libpq's meaning (`require`: encrypt, verify nothing). The service gives every TLS mode one
 * meaning, now and after that upgrade:
 *
 * - no `sslmode` (and no `ssl`), or `sslmode=disable`: no TLS (local development, a socket);
 * - `sslmode=require`, `verify-ca`, `verify-full`, or `ssl=true`/`ssl=1`: TLS, with the
 *   server's certificate verified against Node's trusted roots (the ones it uses for https:
 *   the Mozilla bundle, plus NODE_EXTRA_CA_CERTS and the system store when Node is told to
 *   use it) and the host name in the URL checked against the certificate. Azure Database for
 *   PostgreSQL's certificates chain to public roots, so nothing else is needed there;
 * - a CA certificate file (PEM: DATABASE_CA_FILE, or `sslrootcert` in the URL) is trusted in
 *   addition to those roots, for a server whose certificate comes from a private CA; giving
 *   one turns TLS on when the URL does not say.
 *
 * Modes that connect without verifying (`prefer`, `allow`, pg's `no-verify`) are refused, as
 * are client certificates (`sslcert`, `sslkey`): the service does not use them.
 */
export interface DatabaseTls {
  /** DATABASE_URL without the TLS parameters (pg would parse them again and warn). */
  connectionString: string
  /** pg's `ssl` option: false, or the TLS options that verify the server. */
  ssl: false | tls.ConnectionOptions
}

/** A DATABASE_URL / DATABASE_CA_FILE that cannot be used; the message names the setting. */
export class DatabaseTlsSettingError extends Error {
  override name = 'DatabaseTlsSettingError'
}

const tlsParameters = ['sslmode', 'ssl', 'sslrootcert', 'uselibpqcompat']
const verifyingModes = new Set(['require', 'verify-ca', 'verify-full'])

/**
 * Reads the TLS settings of `databaseUrl` and `caFile` (a PEM file path). Throws
 * DatabaseTlsSettingError for a mode the service does not run with or a CA file it cannot read.
 */
export function databaseTls(databaseUrl: string, caFile?: string): DatabaseTls {
  const url = new URL(databaseUrl)
  const params = url.searchParams
  const mode = params.get('sslmode')
  const sslFlag = params.get('ssl')
  const rootCert = params.get('sslrootcert')
  for (const name of ['sslcert', 'sslkey']) {
    if (params.has(name))
      throw new DatabaseTlsSettingError(
        `DATABASE_URL: ${name} is not supported (the service does not sign in with a client certificate)`,
      )
  }
  if (mode !== null && mode !== 'disable' && !verifyingModes.has(mode))
    throw new DatabaseTlsSettingError(
      `DATABASE_URL: sslmode=${mode} is not supported: use sslmode=verify-full (TLS with the server's certificate and host name verified; require and verify-ca mean the same here) or sslmode=disable`,
    )
  if (sslFlag !== null && !['true', '1', 'false', '0'].includes(sslFlag))
    throw new DatabaseTlsSettingError(
      `DATABASE_URL: ssl=${sslFlag} is not supported: use sslmode=verify-full or sslmode=disable`,
    )
  const files = [caFile, rootCert === 'system' ? undefined : rootCert].filter((f): f is string =>
    Boolean(f),
  )
  const wanted =
    (mode !== null && verifyingModes.has(mode)) ||
    sslFlag === 'true' ||
    sslFlag === '1' ||
    files.length > 0
  const refused = mode === 'disable' || sslFlag === 'false' || sslFlag === '0'
  if (wanted && refused)
    throw new DatabaseTlsSettingError(
      `DATABASE_URL turns TLS off (${mode === 'disable' ? 'sslmode=disable' : `ssl=${sslFlag}`}) while ${files.length > 0 ? 'a CA file is given' : 'asking for it'}: choose one`,
    )
  for (const name of tlsParameters) params.delete(name)
  const connectionString = url.toString()
  if (!wanted) return { connectionString, ssl: false }
  const extra = files.map((file) => {
    try {
      return readFileSync(file, 'utf8')
    } catch (err) {
      throw new DatabaseTlsSettingError(
        `${file === caFile ? 'DATABASE_CA_FILE' : 'DATABASE_URL sslrootcert'}: cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`,
      )
    }
  })
  for (const [i, pem] of extra.entries()) {
    if (!pem.includes('-----BEGIN CERTIFICATE-----'))
      throw new DatabaseTlsSettingError(
        `${files[i] === caFile ? 'DATABASE_CA_FILE' : 'DATABASE_URL sslrootcert'}: ${files[i]} holds no PEM certificate`,
      )
  }
  // Node's default store, as for https; an explicit `ca` would otherwise replace it.
  const ca = extra.length > 0 ? [...tls.getCACertificates('default'), ...extra] : undefined
  return { connectionString, ssl: { rejectUnauthorized: true, ...(ca ? { ca } : {}) } }
}

/** A connection refused because the server's certificate did not pass verification. */
export class DatabaseCertificateError extends Error {
  override name = 'DatabaseCertificateError'
  readonly code: string
  constructor(message: string, code: string, cause: unknown) {
    super(message, { cause })
    this.code = code
  }
}

const chainCodes = new Set([
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_UNTRUSTED',
  'CERT_SIGNATURE_FAILURE',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'CERT_REVOKED',
  'INVALID_CA',
])

/**
 * The error to report for a failed first connection: a certificate problem becomes a
 * DatabaseCertificateError whose message says what was wrong and what to set, naming `setting`,
 * the variable whose URL the connection was made with; anything else, one explained already
 * included, is returned as it is.
 */
export function explainConnectionError(
  err: unknown,
  setting: 'DATABASE_URL' | 'MIGRATION_DATABASE_URL' = 'DATABASE_URL',
): unknown {
  // It keeps the code it explains: explaining it again would repeat its sentence in another's.
  if (err instanceof DatabaseCertificateError) return err
  const code = (err as { code?: unknown } | null)?.code
  const reason = (err as Error | null)?.message ?? String(err)
  if (code === 'ERR_TLS_CERT_ALTNAME_INVALID')
    return new DatabaseCertificateError(
      `The database server's TLS certificate is not for the host in ${setting}: ${reason}. Connect with a host name the certificate names (on Azure, the server's <name>.postgres.database.azure.com).`,
      code,
      err,
    )
  if (typeof code === 'string' && chainCodes.has(code))
    return new DatabaseCertificateError(
      `The database server's TLS certificate could not be verified: ${reason} (${code}). If the server's certificate comes from a private CA, give that CA's certificate (PEM) in DATABASE_CA_FILE; Azure Database for PostgreSQL needs none (its certificates chain to public roots).`,
      code,
      err,
    )
  return err
}
