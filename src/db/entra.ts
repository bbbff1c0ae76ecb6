/**
 * Signing in to Azure Database for PostgreSQL with Microsoft Entra ID (DATABASE_AUTH=entra):
 * no password is stored anywhere; each new connection's password is an access token for the
 * server's audience, which @azure/identity gets from the app's managed identity (on App
 * Service, from the local endpoint in IDENTITY_ENDPOINT, with IDENTITY_HEADER; a user-assigned
 * identity is chosen by AZURE_CLIENT_ID) or, on a developer's machine, from `az login`.
 */

/** The audience Azure Database for PostgreSQL accepts tokens for. */
export const postgresTokenScope = 'https://ossrdbms-aad.database.windows.net/.default'

/** What the service needs of an @azure/identity credential. */
export interface TokenSource {
  getToken(
    scope: string,
  ): Promise<{ token: string; expiresOnTimestamp: number; refreshAfterTimestamp?: number } | null>
}

/**
 * DefaultAzureCredential, imported only when Entra sign-in is on: the library and its MSAL
 * dependency are not loaded by a service that signs in with a password.
 */
export async function azureCredential(): Promise<TokenSource> {
  const { DefaultAzureCredential } = await import('@azure/identity')
  return new DefaultAzureCredential()
}

/** Tokens are fetched again this long before they expire (MSAL's own renewal offset). */
export const refreshMarginMs = 5 * 60_000

/**
 * pg's `password` for a pool: an async function, called for each new connection, that
 * returns the cached token while it has more than refreshMarginMs (5 min) left (or until the
 * credential's refreshAfterTimestamp), and otherwise fetches a new one, once for all the
 * connections asking at that moment. Connections already open are not affected: PostgreSQL
 * checks the token only when a connection signs in. If a refresh fails while the old token
 * is still valid, the old one is used (the next connection tries again); otherwise the
 * error fails that connection, as a wrong password would.
 */
export function entraPassword(
  source: TokenSource | (() => Promise<TokenSource>),
  now: () => number = Date.now,
): () => Promise<string> {
  let credential: Promise<TokenSource> | undefined
  let current: { token: string; expiresAt: number; refreshAt: number } | undefined
  let inFlight: Promise<string> | undefined

  const fetchToken = async () => {
    credential ??= Promise.resolve(typeof source === 'function' ? source() : source)
    const got = await (await credential).getToken(postgresTokenScope)
    if (!got?.token) throw new Error('Microsoft Entra ID returned no token for PostgreSQL')
    current = {
      token: got.token,
      expiresAt: got.expiresOnTimestamp,
      refreshAt: Math.min(
        got.refreshAfterTimestamp ?? Number.POSITIVE_INFINITY,
        got.expiresOnTimestamp - refreshMarginMs,
      ),
    }
    return got.token
  }

  return async () => {
    const at = now()
    if (current && at < current.refreshAt) return current.token
    inFlight ??= fetchToken().finally(() => {
      inFlight = undefined
    })
    try {
      return await inFlight
    } catch (err) {
      if (current && now() < current.expiresAt) return current.token
      throw err
    }
  }
}

/** The pool's password function when DATABASE_AUTH is `entra`; undefined (the URL's) otherwise. */
export const databasePassword = (config: {
  DATABASE_AUTH: 'password' | 'entra'
}): (() => Promise<string>) | undefined =>
  config.DATABASE_AUTH === 'entra' ? entraPassword(azureCredential) : undefined
