import { type Static, Type } from 'typebox'
import { emailPattern, maxEmailLength, maxLocalPart } from './email.ts'
import { StringEnum } from './validation.ts'

// A setting's `errorMessage` is what a bad value is told (config.ts, settingMessage): what to
// write, never the pattern. Numbers need none: theirs says the range (from minimum and maximum).

/** Every setting the service reads from the environment; .env.example lists each with its default. */
export const ConfigSchema = Type.Object({
  NODE_ENV: StringEnum(['development', 'production', 'test'], { default: 'development' }),
  PORT: Type.Integer({ minimum: 0, maximum: 65535, default: 3000 }),
  HOST: Type.String({
    minLength: 1,
    default: '0.0.0.0',
    errorMessage:
      'must be an IP address to listen on (0.0.0.0: every interface; 127.0.0.1: this machine only) or a host name of this machine',
  }),
  DATABASE_URL: Type.Optional(
    Type.String({
      pattern: '^postgres(ql)?://',
      errorMessage:
        'must be a PostgreSQL URL like postgres://user:password@db.example.com:5432/orders',
    }),
  ),
  // A CA (PEM file) trusted besides Node's roots for the database's TLS (src/db/tls.ts).
  DATABASE_CA_FILE: Type.Optional(
    Type.String({
      minLength: 1,
      errorMessage: 'must be the path of a CA certificate (a PEM file), or be left unset',
    }),
  ),
  // The tables' owner, for migrations only; DATABASE_URL's role then only reads and writes rows.
  MIGRATION_DATABASE_URL: Type.Optional(
    Type.String({
      pattern: '^postgres(ql)?://',
      errorMessage:
        'must be a PostgreSQL URL like postgres://owner:password@db.example.com:5432/orders',
    }),
  ),
  // How DATABASE_URL's role signs in: the URL's password, or a Microsoft Entra ID token of the
  // app's managed identity (src/db/entra.ts; Azure Database for PostgreSQL).
  DATABASE_AUTH: StringEnum(['password', 'entra'], { default: 'password' }),
  // With entra: the user-assigned managed identity to sign in as (a client id, a GUID). Read by
  // @azure/identity itself; declared here so a wrong value stops the start, and so the README
  // and .env.example list it (test/deploy/compose.test.ts).
  AZURE_CLIENT_ID: Type.Optional(
    Type.String({
      pattern: '^[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$',
      errorMessage:
        "must be the managed identity's client id, a GUID like 00000000-0000-0000-0000-000000000000",
    }),
  ),
  DATA_DIR: Type.String({
    minLength: 1,
    default: './data',
    errorMessage:
      'must be a folder for the embedded database (like ./data), or memory:// for one in memory',
  }),
  DATABASE_POOL_SIZE: Type.Integer({ minimum: 1, maximum: 500, default: 10 }),
  LOG_LEVEL: StringEnum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], {
    default: 'info',
  }),
  FOLD_INTERVAL_MS: Type.Integer({ minimum: 10, maximum: 60_000, default: 200 }),
  // Orders placed (and looked up) in one turn of the event loop share a statement; 1 = one each.
  ORDER_BATCH_MAX: Type.Integer({ minimum: 1, maximum: 1000, default: 64 }),
  TOP_PRODUCTS_CACHE_MS: Type.Integer({ minimum: 0, maximum: 60_000, default: 500 }),
  // Operations: logs, protection, database outages, shutdown, workers (see docs/operations.md).
  LOG_FILE: Type.Optional(
    Type.String({
      minLength: 1,
      errorMessage: 'must be the path of a file to append the logs to, or be left unset',
    }),
  ),
  RATE_LIMIT_MAX: Type.Integer({ minimum: 0, maximum: 1_000_000, default: 60 }),
  // Order lookups that find nothing (404), per client address a minute (orders/lookup-misses.ts).
  LOOKUP_MISS_MAX: Type.Integer({ minimum: 0, maximum: 1_000_000, default: 30 }),
  TRUST_PROXY: Type.String({
    // Blanks around true, false or a count pass here for trustProxyProblem to name them.
    pattern: '^\\s*(true|false|\\d{1,2})\\s*$|^[0-9a-fA-F.:/, ]+$',
    default: 'false',
    errorMessage:
      'must be true, false, a hop count (like 1), or addresses/CIDRs separated by commas (like 10.0.0.0/8, 192.168.1.10)',
  }),
  // Compression of answers (src/plugins/compression.ts); `off` when a front end that compresses
  // (Azure Front Door, Application Gateway) stands in front and should spend that CPU instead.
  COMPRESSION: StringEnum(['on', 'off'], { default: 'on' }),
  MAX_EVENT_LOOP_DELAY_MS: Type.Integer({ minimum: 0, maximum: 60_000, default: 1000 }),
  MAX_HEAP_USED_MB: Type.Optional(Type.Integer({ minimum: 1, maximum: 1_000_000 })),
  METRICS_TOKEN: Type.Optional(
    Type.String({
      minLength: 16,
      errorMessage:
        'must be at least 16 characters: a random secret, such as openssl rand -hex 32 prints',
    }),
  ),
  // How long a request may take to arrive whole, headers and body (src/app.ts): bodies are at
  // most 64 KiB, seconds even over a poor mobile link, so 30 s is generous for a shopper and
  // still frees a connection a client holds open by never finishing its body (slowloris).
  REQUEST_TIMEOUT_MS: Type.Integer({ minimum: 1000, maximum: 600_000, default: 30_000 }),
  DATABASE_CONNECT_TIMEOUT_MS: Type.Integer({ minimum: 100, maximum: 60_000, default: 2000 }),
  DATABASE_STATEMENT_TIMEOUT_MS: Type.Integer({ minimum: 0, maximum: 3_600_000, default: 10_000 }),
  SHUTDOWN_TIMEOUT_MS: Type.Integer({ minimum: 1000, maximum: 600_000, default: 10_000 }),
  // How long the port stays open after SIGTERM, answering 503 (src/plugins/shutdown.ts), so
  // connections already made are answered rather than reset; at most a quarter of SHUTDOWN_TIMEOUT_MS.
  SHUTDOWN_DRAIN_MS: Type.Integer({ minimum: 0, maximum: 300_000, default: 500 }),
  WEB_CONCURRENCY: Type.Integer({ minimum: 1, maximum: 64, default: 1 }),
  // The commit the image was built from (the Dockerfile's REVISION build argument): /healthz and
  // /readyz show it, so a release can check that the new build is the one answering.
  APP_REVISION: Type.String({
    pattern: '^[0-9A-Za-z._-]{0,64}$',
    default: '',
    errorMessage:
      'must be up to 64 letters, digits, dots, underscores or hyphens, like a commit hash (3f9c2ab)',
  }),
  // Tracing (docs/operations.md, "Tracing"; src/tracing/): spans go to Application Insights, to an OTLP/HTTP
  // endpoint (the base URL: traces go to <endpoint>/v1/traces), or both; neither: no tracing.
  APPLICATIONINSIGHTS_CONNECTION_STRING: Type.Optional(
    Type.String({
      pattern: '(^|;)\\s*(InstrumentationKey|IngestionEndpoint)=[^;\\s]+',
      errorMessage:
        "must be the Application Insights resource's connection string (InstrumentationKey=…;IngestionEndpoint=https://…), copied from its Overview page",
    }),
  ),
  OTEL_EXPORTER_OTLP_ENDPOINT: Type.Optional(
    Type.String({
      pattern: '^https?://[^\\s?#]+$',
      errorMessage:
        "must be an http:// or https:// URL, the collector's base without a query, like http://collector:4318",
    }),
  ),
  // Headers for the OTLP exporter (an API key, say): `key=value` pairs, comma-separated, values
  // percent-encoded (the OpenTelemetry spec's format). Read by the exporter itself; never logged.
  OTEL_EXPORTER_OTLP_HEADERS: Type.Optional(
    Type.String({
      pattern: '^\\s*[^=,\\s]+\\s*=[^,]*(,\\s*[^=,\\s]+\\s*=[^,]*)*$',
      errorMessage:
        'must be key=value pairs separated by commas, values percent-encoded, like api-key=abc123,x-tenant=shop',
    }),
  ),
  OTEL_SERVICE_NAME: Type.String({
    pattern: '^[\\w.:/-]{1,128}$',
    default: 'order-service',
    errorMessage: 'must be 1 to 128 letters, digits, or . _ : / - (no spaces), like order-service',
  }),
  // Share of new traces kept, 0 to 1 (a request with a traceparent follows its sampled flag).
  TRACE_SAMPLE_RATIO: Type.Number({ minimum: 0, maximum: 1, default: 1 }),
  // Back office: the first admin, created at start when no admin exists (README "Back office").
  ADMIN_EMAIL: Type.Optional(
    Type.String({
      pattern: emailPattern,
      maxLength: maxEmailLength,
      errorMessage: `must be an e-mail address of at most ${maxEmailLength} characters, ${maxLocalPart} of them before the @, like admin@example.com`,
    }),
  ),
  ADMIN_PASSWORD: Type.Optional(
    Type.String({
      minLength: 15,
      maxLength: 1024,
      errorMessage: 'must be 15 to 1024 characters long',
    }),
  ),
  // Webhooks (README "Events and webhooks"): whether this instance dispatches deliveries (`on`:
  // besides serving; `off`: it serves only; `only`: it dispatches and serves nothing but
  // /healthz, /readyz and /metrics, a process of its own that can be given its own CPU), how
  // often it looks for due ones, and whether endpoints may be plain http or loopback/private
  // addresses (local development and tests only: in production a webhook URL must never reach
  // the service's own network). A rotated signing secret keeps signing deliveries, after the new
  // one, for WEBHOOKS_SECRET_OVERLAP_HOURS (0: not at all; at most a week: the previous secret may
  // be one that leaked; src/webhooks/secret-rotation.ts).
  WEBHOOKS_DISPATCH: StringEnum(['on', 'off', 'only'], { default: 'on' }),
  WEBHOOKS_POLL_MS: Type.Integer({ minimum: 10, maximum: 60_000, default: 250 }),
  WEBHOOKS_ALLOW_LOCAL: StringEnum(['true', 'false'], { default: 'false' }),
  WEBHOOKS_SECRET_OVERLAP_HOURS: Type.Integer({ minimum: 0, maximum: 168, default: 24 }),
  // Order e-mails (README "E-mails"): the SMTP server (smtp:// or smtps://, credentials in the
  // URL; unset: no e-mail is queued or sent; the same on every instance), the sender (default
  // orders@ the PUBLIC_BASE_URL's host) and the shop's public address the e-mails link to
  // (needed with SMTP_URL).
  // Its shape is checked in code (src/mail/smtp-url.ts), so that each refusal says its reason.
  SMTP_URL: Type.Optional(Type.String()),
  MAIL_FROM: Type.Optional(
    Type.String({
      // An address; or a name, plain (no comma, semicolon or double quote, which would split or
      // end it: RFC 5322's phrase) or quoted (RFC 5322 §3.2.4, backslash escapes), then one in <>.
      pattern:
        '^(([^<>@\\r\\n",;]*|\\s*"([^"\\\\\\r\\n]|\\\\[^\\r\\n])*"\\s*)<[^<>@\\s]+@[^<>@\\s]+>|[^<>@\\s]+@[^<>@\\s]+)$',
      maxLength: 254,
      errorMessage:
        'must be an e-mail address like orders@example.com, or a name and one in angle brackets like Shop <orders@example.com> (a name with a comma, a semicolon or a double quote in double quotes, like "Shop, Inc." <orders@example.com>), at most 254 characters',
    }),
  ),
  PUBLIC_BASE_URL: Type.Optional(
    Type.String({
      pattern: '^https?://[^\\s?#]+$',
      errorMessage:
        "must be the shop's http:// or https:// address, without a query, like https://shop.example.com",
    }),
  ),
})

export type Config = Static<typeof ConfigSchema>
