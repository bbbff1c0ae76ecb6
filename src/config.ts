import envSchema from 'env-schema'
import type { FastifySchemaValidationError } from 'fastify/types/schema.js'
import { type Static, Type } from 'typebox'
import { logFileProblem, trustProxyProblem } from './config-checks.ts'
import { DatabaseTlsSettingError, databaseTls } from './db/tls.ts'
import { describe, StringEnum } from './validation.ts'

/** Every setting the service reads from the environment; .env.example lists each with its default. */
export const ConfigSchema = Type.Object({
  NODE_ENV: StringEnum(['development', 'production', 'test'], { default: 'development' }),
  PORT: Type.Integer({ minimum: 0, maximum: 65535, default: 3000 }),
  HOST: Type.String({ minLength: 1, default: '0.0.0.0' }),
  DATABASE_URL: Type.Optional(Type.String({ pattern: '^postgres(ql)?://' })),
  // A CA (PEM file) trusted besides Node's roots for the database's TLS (src/db/tls.ts).
  DATABASE_CA_FILE: Type.Optional(Type.String({ minLength: 1 })),
  // The tables' owner, for migrations only; DATABASE_URL's role then only reads and writes rows.
  MIGRATION_DATABASE_URL: Type.Optional(Type.String({ pattern: '^postgres(ql)?://' })),
  // How DATABASE_URL's role signs in: the URL's password, or a Microsoft Entra ID token of the
  // app's managed identity (src/db/entra.ts; Azure Database for PostgreSQL).
  DATABASE_AUTH: StringEnum(['password', 'entra'], { default: 'password' }),
  // With entra: the user-assigned managed identity to sign in as (a client id, a GUID). Read by
  // @azure/identity itself; declared here so a wrong value stops the start, and so the README
  // and .env.example list it (test/deploy/compose.test.ts).
  AZURE_CLIENT_ID: Type.Optional(
    Type.String({ pattern: '^[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$' }),
  ),
  DATA_DIR: Type.String({ minLength: 1, default: './data' }),
  DATABASE_POOL_SIZE: Type.Integer({ minimum: 1, maximum: 500, default: 10 }),
  LOG_LEVEL: StringEnum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], {
    default: 'info',
  }),
  FOLD_INTERVAL_MS: Type.Integer({ minimum: 10, maximum: 60_000, default: 200 }),
  // Orders placed (and looked up) in one turn of the event loop share a statement; 1 = one each.
  ORDER_BATCH_MAX: Type.Integer({ minimum: 1, maximum: 1000, default: 64 }),
  TOP_PRODUCTS_CACHE_MS: Type.Integer({ minimum: 0, maximum: 60_000, default: 500 }),
  // Operations: logs, protection, database outages, shutdown, workers (see README "Operations").
  LOG_FILE: Type.Optional(Type.String({ minLength: 1 })),
  RATE_LIMIT_MAX: Type.Integer({ minimum: 0, maximum: 1_000_000, default: 60 }),
  TRUST_PROXY: Type.String({
    pattern: '^(true|false|\\d{1,2}|[0-9a-fA-F.:/, ]+)$',
    default: 'false',
  }),
  // Compression of answers (src/plugins/compression.ts); `off` when a front end that compresses
  // (Azure Front Door, Application Gateway) stands in front and should spend that CPU instead.
  COMPRESSION: StringEnum(['on', 'off'], { default: 'on' }),
  MAX_EVENT_LOOP_DELAY_MS: Type.Integer({ minimum: 0, maximum: 60_000, default: 1000 }),
  MAX_HEAP_USED_MB: Type.Optional(Type.Integer({ minimum: 1, maximum: 1_000_000 })),
  METRICS_TOKEN: Type.Optional(Type.String({ minLength: 16 })),
  DATABASE_CONNECT_TIMEOUT_MS: Type.Integer({ minimum: 100, maximum: 60_000, default: 2000 }),
  DATABASE_STATEMENT_TIMEOUT_MS: Type.Integer({ minimum: 0, maximum: 3_600_000, default: 10_000 }),
  SHUTDOWN_TIMEOUT_MS: Type.Integer({ minimum: 1000, maximum: 600_000, default: 10_000 }),
  WEB_CONCURRENCY: Type.Integer({ minimum: 1, maximum: 64, default: 1 }),
  // The commit the image was built from (the Dockerfile's REVISION build argument): /healthz and
  // /readyz show it, so a release can check that the new build is the one answering.
  APP_REVISION: Type.String({ pattern: '^[0-9A-Za-z._-]{0,64}$', default: '' }),
  // Tracing (README "Operations", src/tracing/): spans go to Application Insights, to an OTLP/HTTP
  // endpoint (the base URL: traces go to <endpoint>/v1/traces), or both; neither: no tracing.
  APPLICATIONINSIGHTS_CONNECTION_STRING: Type.Optional(
    Type.String({ pattern: '(^|;)\\s*(InstrumentationKey|IngestionEndpoint)=[^;\\s]+' }),
  ),
  OTEL_EXPORTER_OTLP_ENDPOINT: Type.Optional(Type.String({ pattern: '^https?://[^\\s?#]+$' })),
  // Headers for the OTLP exporter (an API key, say): `key=value` pairs, comma-separated, values
  // percent-encoded (the OpenTelemetry spec's format). Read by the exporter itself; never logged.
  OTEL_EXPORTER_OTLP_HEADERS: Type.Optional(
    Type.String({ pattern: '^\\s*[^=,\\s]+\\s*=[^,]*(,\\s*[^=,\\s]+\\s*=[^,]*)*$' }),
  ),
  OTEL_SERVICE_NAME: Type.String({ pattern: '^[\\w.:/-]{1,128}$', default: 'order-service' }),
  // Share of new traces kept, 0 to 1 (a request with a traceparent follows its sampled flag).
  TRACE_SAMPLE_RATIO: Type.Number({ minimum: 0, maximum: 1, default: 1 }),
  // Back office: the first admin, created at start when no admin exists (README "Back office").
  ADMIN_EMAIL: Type.Optional(Type.String({ pattern: '^[^@\\s]+@[^@\\s]+$', maxLength: 254 })),
  ADMIN_PASSWORD: Type.Optional(Type.String({ minLength: 15, maxLength: 1024 })),
  // Webhooks (README "Events and webhooks"): whether this instance dispatches deliveries (`on`:
  // besides serving; `off`: it serves only; `only`: it dispatches and serves nothing but
  // /healthz, /readyz and /metrics, a process of its own that can be given its own CPU), how
  // often it looks for due ones, and whether endpoints may be plain http or loopback/private
  // addresses (local development and tests only: in production a webhook URL must never reach
  // the service's own network).
  WEBHOOKS_DISPATCH: StringEnum(['on', 'off', 'only'], { default: 'on' }),
  WEBHOOKS_POLL_MS: Type.Integer({ minimum: 10, maximum: 60_000, default: 250 }),
  WEBHOOKS_ALLOW_LOCAL: StringEnum(['true', 'false'], { default: 'false' }),
  // Order e-mails (README "E-mails"): the SMTP server (smtp:// or smtps://, credentials in the
  // URL; unset: no e-mail is queued or sent; the same on every instance), the sender (default
  // orders@ the PUBLIC_BASE_URL's host) and the shop's public address the e-mails link to
  // (needed with SMTP_URL).
  SMTP_URL: Type.Optional(Type.String({ pattern: '^smtps?://[^\\s]+$' })),
  MAIL_FROM: Type.Optional(
    Type.String({
      pattern: '^([^<>@\\r\\n"]*<[^<>@\\s]+@[^<>@\\s]+>|[^<>@\\s]+@[^<>@\\s]+)$',
      maxLength: 254,
    }),
  ),
  PUBLIC_BASE_URL: Type.Optional(Type.String({ pattern: '^https?://[^\\s?#]+$' })),
})

export type Config = Static<typeof ConfigSchema>

export class ConfigError extends Error {}

/** Reads and validates the environment; a bad value throws a one-line ConfigError naming it. */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  // Ajv would coerce "0x10" to 16, "1e3" to 1000 and "true" to 1: a number in the environment
  // is decimal digits, like a quantity on the form (docs/reliability.md, "Numbers are numbers").
  for (const [name, schema] of Object.entries(ConfigSchema.properties)) {
    const value = env[name]
    if (
      value !== undefined &&
      (schema as { type?: unknown }).type === 'integer' &&
      !/^[0-9]+$/.test(value)
    ) {
      throw new ConfigError(
        `Invalid configuration: ${name} must be a whole number in decimal digits`,
      )
    }
    if (
      value !== undefined &&
      (schema as { type?: unknown }).type === 'number' &&
      !/^[0-9]+(\.[0-9]+)?$/.test(value)
    ) {
      throw new ConfigError(`Invalid configuration: ${name} must be a number in decimal digits`)
    }
  }
  let config: Config
  try {
    config = envSchema<Config>({ schema: ConfigSchema, data: env })
  } catch (err) {
    throw new ConfigError(`Invalid configuration: ${settingErrors(err as Error)}`)
  }
  // Ajv coerces "1e309" to Infinity and then skips minimum and maximum (finite numbers only).
  for (const [name, value] of Object.entries(config)) {
    if (typeof value === 'number' && !Number.isFinite(value)) {
      throw new ConfigError(`Invalid configuration: ${name} must be a finite number`)
    }
  }
  if (Boolean(config.ADMIN_EMAIL) !== Boolean(config.ADMIN_PASSWORD)) {
    throw new ConfigError('Invalid configuration: ADMIN_EMAIL and ADMIN_PASSWORD go together')
  }
  if (config.WEBHOOKS_DISPATCH === 'only' && !config.DATABASE_URL) {
    throw new ConfigError(
      'Invalid configuration: WEBHOOKS_DISPATCH=only needs DATABASE_URL: the embedded database is opened by one process, which would then take no orders',
    )
  }
  if (config.DATABASE_CA_FILE && !config.DATABASE_URL) {
    throw new ConfigError('Invalid configuration: DATABASE_CA_FILE needs DATABASE_URL')
  }
  const trustProxy = trustProxyProblem(config.TRUST_PROXY)
  if (trustProxy) {
    throw new ConfigError(
      `Invalid configuration: TRUST_PROXY ${trustProxy}: give true, a hop count, or addresses/CIDRs separated by commas`,
    )
  }
  const logFile = config.LOG_FILE && logFileProblem(config.LOG_FILE)
  if (logFile) throw new ConfigError(`Invalid configuration: LOG_FILE ${logFile}`)
  checkMailSettings(config)
  if (config.DATABASE_AUTH === 'entra') checkEntraSettings(config)
  if (config.MIGRATION_DATABASE_URL && !config.DATABASE_URL) {
    throw new ConfigError('Invalid configuration: MIGRATION_DATABASE_URL needs DATABASE_URL')
  }
  for (const [name, url] of [
    ['DATABASE_URL', config.DATABASE_URL],
    ['MIGRATION_DATABASE_URL', config.MIGRATION_DATABASE_URL],
  ] as const) {
    if (!url) continue
    try {
      databaseTls(url, config.DATABASE_CA_FILE)
    } catch (err) {
      if (!(err instanceof DatabaseTlsSettingError)) throw err
      throw new ConfigError(`Invalid configuration: ${err.message.replace(/^DATABASE_URL/, name)}`)
    }
  }
  return config
}

/**
 * env-schema's error as one line naming each setting once, worded as the routes word theirs
 * (`LOG_LEVEL must be one of: fatal, …`; validation.ts, describe), without Ajv's `env/`.
 */
function settingErrors(err: Error & { errors?: FastifySchemaValidationError[] }): string {
  if (!err.errors?.length) return err.message.replaceAll('\n', ' ')
  const lines = err.errors.map((e) => `${e.instancePath.replace(/^\//, '')} ${describe(e)}`)
  return [...new Set(lines)].join('; ')
}

/** SMTP_URL and PUBLIC_BASE_URL must parse as URLs with a host; SMTP_URL needs PUBLIC_BASE_URL. */
function checkMailSettings(config: Config): void {
  for (const name of ['SMTP_URL', 'PUBLIC_BASE_URL'] as const) {
    const value = config[name]
    if (value === undefined) continue
    let url: URL
    try {
      url = new URL(value)
    } catch {
      throw new ConfigError(`Invalid configuration: ${name} is not a URL`)
    }
    if (!url.hostname) throw new ConfigError(`Invalid configuration: ${name} has no host`)
    if (name === 'PUBLIC_BASE_URL' && (url.username || url.password)) {
      throw new ConfigError('Invalid configuration: PUBLIC_BASE_URL must not hold credentials')
    }
  }
  if (config.SMTP_URL && !config.PUBLIC_BASE_URL) {
    throw new ConfigError(
      "Invalid configuration: SMTP_URL needs PUBLIC_BASE_URL (the shop's address the e-mails link to, e.g. https://shop.example.com)",
    )
  }
}

/**
 * DATABASE_AUTH=entra: DATABASE_URL names the role (the managed identity's) and no password
 * (the token is the password), over TLS (a token is a credential: never sent in the clear).
 */
function checkEntraSettings(config: Config): void {
  const url = config.DATABASE_URL
  if (!url) throw new ConfigError('Invalid configuration: DATABASE_AUTH=entra needs DATABASE_URL')
  const { username, password } = new URL(url)
  if (!username)
    throw new ConfigError(
      "Invalid configuration: DATABASE_AUTH=entra needs the role in DATABASE_URL (the managed identity's name)",
    )
  if (password)
    throw new ConfigError(
      'Invalid configuration: DATABASE_AUTH=entra signs in with a token: DATABASE_URL must hold no password',
    )
  let tlsOn = false
  try {
    tlsOn = databaseTls(url, config.DATABASE_CA_FILE).ssl !== false
  } catch {
    return // reported below, with the other TLS settings
  }
  if (!tlsOn)
    throw new ConfigError(
      'Invalid configuration: DATABASE_AUTH=entra needs TLS: add sslmode=verify-full to DATABASE_URL',
    )
}
