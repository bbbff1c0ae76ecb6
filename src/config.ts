import type { Ajv } from 'ajv'
import envSchema from 'env-schema'
import type { FastifySchemaValidationError } from 'fastify/types/schema.js'
import {
  databaseUrlParameterProblem,
  databaseUrlProblem,
  heapProblem,
  hostProblem,
  logFileProblem,
  namesNoDatabase,
  trustProxyProblem,
  unresolvedReference,
  unresolvedReferenceCauses,
} from './config-checks.ts'
import { type Config, ConfigSchema } from './config-schema.ts'
import { DatabaseTlsSettingError, databaseTls } from './db/tls.ts'
import { emailSentence, isEmailAddress } from './email.ts'
import { mailFromProblem } from './mail/mail-from.ts'
import { smtpUrlProblem } from './mail/smtp-url.ts'
import { hasUntypeable, untypeableRule } from './staff/passwords.ts'
import { hiddenCharacters, isPrintable } from './text.ts'
import { describe } from './validation.ts'

export { type Config, ConfigSchema }

export class ConfigError extends Error {}

/**
 * Reads and validates the environment (`env` laid over process.env); a bad value throws a
 * one-line ConfigError naming it. An empty value is an unset one, for every setting (withoutEmpty).
 */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  const data = withoutEmpty({ ...process.env, ...env })
  // Before any other check: a reference's text would otherwise be judged as the value it stands
  // for (METRICS_TOKEN long enough, SMTP_URL not smtp://) and be refused for the wrong reason,
  // or, in a setting checked less strictly, taken.
  const unresolved = unresolvedReference(data, Object.keys(ConfigSchema.properties))
  if (unresolved) {
    throw new ConfigError(
      `Invalid configuration: ${unresolved.name} is a Key Vault reference that was not resolved (${unresolved.reference}): ${unresolvedReferenceCauses}`,
    )
  }
  // Ajv would coerce "0x10" to 16, "1e3" to 1000 and "true" to 1: a number in the environment
  // is decimal digits, like a quantity on the form (docs/reliability.md, "Numbers are numbers").
  for (const [name, schema] of Object.entries(ConfigSchema.properties)) {
    const value = data[name]
    const { type } = schema as { type?: unknown }
    // A fraction may leave out its leading 0 (`.5`), as it may in a number anywhere else.
    const digits =
      type === 'integer' ? /^[0-9]+$/ : type === 'number' ? /^([0-9]+|[0-9]*\.[0-9]+)$/ : null
    if (value !== undefined && digits && !digits.test(value)) {
      throw new ConfigError(`Invalid configuration: ${name} ${settingMessage(name)}`)
    }
  }
  let config: Config
  try {
    // env-schema would lay `env` over process.env itself (its `env: true`); done above instead,
    // so that an empty value in either reads as unset.
    config = envSchema<Config>({ schema: ConfigSchema, data, env: false, ajv: { customOptions } })
  } catch (err) {
    throw new ConfigError(`Invalid configuration: ${settingErrors(err as Error)}`)
  }
  // Ajv coerces "1e309" to Infinity and then skips minimum and maximum (finite numbers only).
  for (const [name, value] of Object.entries(config)) {
    if (typeof value === 'number' && !Number.isFinite(value)) {
      throw new ConfigError(`Invalid configuration: ${name} ${settingMessage(name)}`)
    }
  }
  // Before anything reads them (checkEntraSettings, databaseTls): new URL's TypeError would
  // stop the start with a stack and the URL, password and all.
  for (const name of ['DATABASE_URL', 'MIGRATION_DATABASE_URL'] as const) {
    const problem = config[name] && databaseUrlProblem(config[name])
    if (problem) throw new ConfigError(`Invalid configuration: ${name} ${problem}`)
    const parameter = config[name] && databaseUrlParameterProblem(config[name])
    if (parameter) throw new ConfigError(`Invalid configuration: ${name} ${parameter}`)
    // pg takes PGDATABASE, then the user's name: the migrations went into the server's own
    // `postgres` database, silently.
    if (config[name] && namesNoDatabase(config[name]) && !env.PGDATABASE)
      throw new ConfigError(
        `Invalid configuration: ${name} names no database: add its name after the host and port (postgres://user@db.example.com:5432/orders). Without one PostgreSQL takes the database named after the user (for postgres, the server's own), and the tables would be made there`,
      )
  }
  // Blanks would name a folder or file of blanks in the working folder (a new database each
  // start from another folder; for LOG_FILE, pino read them as file descriptor 0).
  for (const [name, what] of [
    ['DATA_DIR', 'a folder for the embedded database, like ./data'],
    ['LOG_FILE', 'a file to append the logs to, like /var/log/orders.log'],
  ] as const) {
    if (config[name] !== undefined && config[name].trim() === '')
      throw new ConfigError(
        `Invalid configuration: ${name} is only blanks (spaces, tabs or line breaks): name ${what}, or leave it unset`,
      )
  }
  // Its minLength counts blanks: 16 spaces (a quoted value, a template's placeholder) passed.
  if (config.METRICS_TOKEN !== undefined && config.METRICS_TOKEN.trim() === '') {
    throw new ConfigError(
      'Invalid configuration: METRICS_TOKEN is only blanks (spaces, tabs or line breaks): set it to a random secret, such as openssl rand -hex 32 prints',
    )
  }
  if (Boolean(config.ADMIN_EMAIL) !== Boolean(config.ADMIN_PASSWORD)) {
    throw new ConfigError('Invalid configuration: ADMIN_EMAIL and ADMIN_PASSWORD go together')
  }
  // The staff API's rule for a new account's e-mail (src/email.ts): ASCII, no lookalike.
  if (config.ADMIN_EMAIL && !isEmailAddress(config.ADMIN_EMAIL)) {
    const email = config.ADMIN_EMAIL
    const why = isPrintable(email) ? emailSentence(email) : `must not contain ${hiddenCharacters}`
    throw new ConfigError(`Invalid configuration: ADMIN_EMAIL ${why}`)
  }
  if (config.ADMIN_PASSWORD && hasUntypeable(config.ADMIN_PASSWORD)) {
    throw new ConfigError(
      `Invalid configuration: ADMIN_PASSWORD must not contain ${untypeableRule}`,
    )
  }
  // Whether it is too easy to guess is asked when the first admin is created with it
  // (first-admin.ts): zxcvbn's dictionaries take about 1 s and 50 MiB to load, which no start
  // that creates no admin should pay, and this check stays synchronous.
  if (config.WEBHOOKS_DISPATCH === 'only' && !config.DATABASE_URL) {
    throw new ConfigError(
      'Invalid configuration: WEBHOOKS_DISPATCH=only needs DATABASE_URL: the embedded database is opened by one process, which would then take no orders',
    )
  }
  if (config.DATABASE_CA_FILE && !config.DATABASE_URL) {
    throw new ConfigError('Invalid configuration: DATABASE_CA_FILE needs DATABASE_URL')
  }
  if (config.SHUTDOWN_DRAIN_MS * 4 > config.SHUTDOWN_TIMEOUT_MS) {
    throw new ConfigError(
      `Invalid configuration: SHUTDOWN_DRAIN_MS may be at most a quarter of SHUTDOWN_TIMEOUT_MS (${config.SHUTDOWN_TIMEOUT_MS}): the sends in flight get half of it, the requests in flight and the pool the rest`,
    )
  }
  const trustProxy = trustProxyProblem(config.TRUST_PROXY)
  if (trustProxy) {
    throw new ConfigError(`Invalid configuration: TRUST_PROXY ${trustProxy}`)
  }
  const host = hostProblem(config.HOST)
  if (host) throw new ConfigError(`Invalid configuration: HOST ${host}`)
  const heap = heapProblem(config.MAX_HEAP_USED_MB)
  if (heap) throw new ConfigError(`Invalid configuration: MAX_HEAP_USED_MB ${heap}`)
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

// Ajv in strict mode refuses keywords it does not know: `errorMessage` is ours (settingMessage).
let settingsAjv: Ajv | undefined
const customOptions = (fresh: Ajv) => {
  settingsAjv ??= fresh.addKeyword('errorMessage')
  return settingsAjv
}

/**
 * What to write in setting `name`, as a sentence after its name: the schema's `errorMessage`,
 * or for a number its range (`must be a whole number from 0 to 65535`); undefined otherwise
 * (an enum: Ajv's list of values says it, worded by validation.ts, describe).
 */
export function settingMessage(name: string): string | undefined {
  const schema = (ConfigSchema.properties as unknown as Record<string, Record<string, unknown>>)[
    name
  ]
  if (!schema) return undefined
  if (typeof schema.errorMessage === 'string') return schema.errorMessage
  if (schema.type === 'integer')
    return `must be a whole number from ${schema.minimum} to ${schema.maximum}, in decimal digits`
  if (schema.type === 'number')
    return `must be a number from ${schema.minimum} to ${schema.maximum}, in decimal digits (like 0.25)`
  return undefined
}

/**
 * env-schema's error as one line naming each setting once, each with what to write
 * (settingMessage), else worded as the routes word theirs (`LOG_LEVEL must be one of: fatal, …`;
 * validation.ts, describe), without Ajv's `env/`.
 */
function settingErrors(err: Error & { errors?: FastifySchemaValidationError[] }): string {
  if (!err.errors?.length) return err.message.replaceAll('\n', ' ')
  const lines = err.errors.map((e) => {
    const name = e.instancePath.replace(/^\//, '')
    return `${name} ${(e.keyword !== 'required' && settingMessage(name)) || describe(e)}`
  })
  return [...new Set(lines)].join('; ')
}

/**
 * `env` without its empty values: `NAME=` is `NAME` unset, the setting's default or off, as
 * dotenv files and Docker Compose's .env mean it (.env.example lists every setting so, and a
 * line uncommented as it stands must not stop the start). The ARM template, too, sets SMTP_URL
 * and MAIL_FROM on every app and cannot leave one out (docs/deployment.md, "Order e-mails").
 * A value of spaces is a value: only a shell or a file quoting them gives one.
 */
function withoutEmpty(env: Record<string, string | undefined>): Record<string, string> {
  const data: Record<string, string> = {}
  for (const [name, value] of Object.entries(env)) if (value) data[name] = value
  return data
}

/**
 * SMTP_URL as smtpUrlProblem takes it (each refusal its reason), MAIL_FROM ASCII (mailFromProblem);
 * PUBLIC_BASE_URL must parse as
 * a URL with a host and no credentials; SMTP_URL needs PUBLIC_BASE_URL.
 */
function checkMailSettings(config: Config): void {
  const smtp = config.SMTP_URL === undefined ? null : smtpUrlProblem(config.SMTP_URL)
  if (smtp) throw new ConfigError(`Invalid configuration: SMTP_URL ${smtp}`)
  const from = config.MAIL_FROM === undefined ? null : mailFromProblem(config.MAIL_FROM)
  if (from) throw new ConfigError(`Invalid configuration: MAIL_FROM ${from}`)
  const value = config.PUBLIC_BASE_URL
  if (value !== undefined) {
    let url: URL | undefined
    try {
      url = new URL(value)
    } catch {}
    if (!url?.hostname) {
      throw new ConfigError(
        `Invalid configuration: PUBLIC_BASE_URL ${settingMessage('PUBLIC_BASE_URL')}`,
      )
    }
    if (url.username || url.password) {
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
