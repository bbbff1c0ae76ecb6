import { spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import net from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { getHeapStatistics } from 'node:v8'
import Fastify from 'fastify'
import { afterAll, describe, expect, it } from 'vitest'
import { ConfigError, ConfigSchema, loadConfig } from '../src/config.ts'
import { trustProxy } from '../src/plugins/client-address.ts'
import { unionsOfLiterals } from './helpers/schemas.ts'
import { failedStart, startFlags, startServer } from './helpers/server.ts'

describe('configuration', () => {
  it('has sane defaults', () => {
    const config = loadConfig({})
    expect(config).toMatchObject({
      PORT: 3000,
      HOST: '0.0.0.0',
      DATA_DIR: './data',
      LOG_LEVEL: 'info',
    })
    expect(config.DATABASE_URL).toBeUndefined()
  })

  it('coerces numbers from the environment', () => {
    expect(loadConfig({ PORT: '8080' }).PORT).toBe(8080)
  })

  it('reads the tracing settings: off by default, a ratio as a decimal', () => {
    const off = loadConfig({})
    expect(off).toMatchObject({ OTEL_SERVICE_NAME: 'order-service', TRACE_SAMPLE_RATIO: 1 })
    expect(off.APPLICATIONINSIGHTS_CONNECTION_STRING).toBeUndefined()
    expect(off.OTEL_EXPORTER_OTLP_ENDPOINT).toBeUndefined()
    const on = loadConfig({
      TRACE_SAMPLE_RATIO: '0.25',
      OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318',
      APPLICATIONINSIGHTS_CONNECTION_STRING:
        'InstrumentationKey=00000000-0000-0000-0000-000000000000;IngestionEndpoint=https://westeurope-5.in.applicationinsights.azure.com/',
    })
    expect(on.TRACE_SAMPLE_RATIO).toBe(0.25)
    expect(on.OTEL_EXPORTER_OTLP_ENDPOINT).toBe('http://127.0.0.1:4318')
  })

  it.each([
    ['.5', 0.5],
    ['.05', 0.05],
    ['0', 0],
    ['1', 1],
  ])(
    'takes TRACE_SAMPLE_RATIO=%s, decimal digits with or without the 0 before the point',
    (text, ratio) => {
      expect(loadConfig({ TRACE_SAMPLE_RATIO: text }).TRACE_SAMPLE_RATIO).toBe(ratio)
    },
  )

  it('takes the settings libraries read: a client id, OTLP headers', () => {
    const config = loadConfig({
      AZURE_CLIENT_ID: '00000000-1111-2222-3333-444444444444',
      OTEL_EXPORTER_OTLP_HEADERS: 'api-key=abc%3D, x-tenant=shop',
    })
    expect(config.AZURE_CLIENT_ID).toBe('00000000-1111-2222-3333-444444444444')
    expect(config.OTEL_EXPORTER_OTLP_HEADERS).toBe('api-key=abc%3D, x-tenant=shop')
  })

  it('takes WEBHOOKS_DISPATCH=only with DATABASE_URL', () => {
    const env = { WEBHOOKS_DISPATCH: 'only', DATABASE_URL: 'postgres://u@db.example.com/orders' }
    expect(loadConfig(env).WEBHOOKS_DISPATCH).toBe('only')
  })

  it.each([
    [{ PORT: 'eighty' }, 'PORT'],
    [{ PORT: '70000' }, 'PORT'],
    [{ PORT: '1e309' }, 'PORT'],
    [{ DATABASE_POOL_SIZE: '-Infinity' }, 'DATABASE_POOL_SIZE'],
    // Numbers are decimal digits, as on the order form: no hex, exponents, booleans, spaces.
    [{ PORT: '0x10' }, 'PORT'],
    [{ RATE_LIMIT_MAX: '1e3' }, 'RATE_LIMIT_MAX'],
    [{ WEB_CONCURRENCY: 'true' }, 'WEB_CONCURRENCY'],
    [{ DATABASE_POOL_SIZE: ' 10' }, 'DATABASE_POOL_SIZE'],
    [{ FOLD_INTERVAL_MS: '200.0' }, 'FOLD_INTERVAL_MS'],
    [{ LOG_LEVEL: 'loud' }, 'LOG_LEVEL'],
    [{ DATABASE_URL: 'mysql://x' }, 'DATABASE_URL'],
    // Tracing: a ratio is a decimal between 0 and 1; the endpoint a URL; the connection string
    // Application Insights' (key=value pairs with a key or an ingestion endpoint).
    [{ TRACE_SAMPLE_RATIO: '1.5' }, 'TRACE_SAMPLE_RATIO'],
    [{ TRACE_SAMPLE_RATIO: '0x1' }, 'TRACE_SAMPLE_RATIO'],
    [{ TRACE_SAMPLE_RATIO: '1e-1' }, 'TRACE_SAMPLE_RATIO'],
    [{ TRACE_SAMPLE_RATIO: '-0.5' }, 'TRACE_SAMPLE_RATIO'],
    [{ TRACE_SAMPLE_RATIO: '.' }, 'TRACE_SAMPLE_RATIO'],
    [{ TRACE_SAMPLE_RATIO: '5.' }, 'TRACE_SAMPLE_RATIO'],
    [{ TRACE_SAMPLE_RATIO: '-.5' }, 'TRACE_SAMPLE_RATIO'],
    [{ TRACE_SAMPLE_RATIO: '.5.5' }, 'TRACE_SAMPLE_RATIO'],
    [{ OTEL_EXPORTER_OTLP_ENDPOINT: 'localhost:4318' }, 'OTEL_EXPORTER_OTLP_ENDPOINT'],
    [{ APPLICATIONINSIGHTS_CONNECTION_STRING: 'secret' }, 'APPLICATIONINSIGHTS_CONNECTION_STRING'],
    [{ OTEL_SERVICE_NAME: 'order service' }, 'OTEL_SERVICE_NAME'],
    // Webhooks: on, off or only; only with a shared database (the embedded one has one process).
    [{ WEBHOOKS_DISPATCH: 'yes' }, 'WEBHOOKS_DISPATCH'],
    // Read by libraries (@azure/identity, the OTLP exporter), checked here all the same.
    [{ AZURE_CLIENT_ID: 'my-identity' }, 'AZURE_CLIENT_ID'],
    [{ OTEL_EXPORTER_OTLP_HEADERS: 'Bearer abc' }, 'OTEL_EXPORTER_OTLP_HEADERS'],
    [{ WEBHOOKS_DISPATCH: 'only' }, 'WEBHOOKS_DISPATCH=only needs DATABASE_URL'],
    // The drain is part of the shutdown's time: the rest is for the requests in flight.
    [
      { SHUTDOWN_DRAIN_MS: '5000' },
      'SHUTDOWN_DRAIN_MS may be at most a quarter of SHUTDOWN_TIMEOUT_MS',
    ],
  ])('refuses %o naming the variable', (env, name) => {
    expect(() => loadConfig(env)).toThrow(ConfigError)
    expect(() => loadConfig(env)).toThrow(name)
  })

  it('stops the server at start with one line naming the bad value', () => {
    const run = spawnSync(process.execPath, ['src/server.ts'], {
      env: { PATH: process.env.PATH, PORT: 'eighty' },
      encoding: 'utf8',
      timeout: 20_000,
    })
    expect(run.status).toBe(1)
    expect(run.stderr.trim().split('\n')).toHaveLength(1)
    expect(run.stderr).toMatch(/^Invalid configuration: .*PORT/)
  })
})

describe('DATABASE_URL and MIGRATION_DATABASE_URL that cannot be read', () => {
  // Each holds the password "p/ss" (or p?ss, p#ss), which no refusal may show.
  const malformed: [string, string][] = [
    ['postgres://admin:p/ss@127.0.0.1:4400/orders', '/ as %2F'],
    ['postgres://admin:p?ss@127.0.0.1:4400/orders', '? as %3F'],
    ['postgres://admin:p#ss@127.0.0.1:4400/orders', '# as %23'],
    // An @ before the / as well: the authority "admin:p@ss" parses, with the host "ss".
    ['postgres://admin:p@ss/w@127.0.0.1:4400/orders', 'has an @ after a /, ? or #'],
    ['postgres://admin:p@ss?w@127.0.0.1:4400/orders', 'has an @ after a /, ? or #'],
    ['postgres://admin:pss@127.0.0.1:4400/or%zzders', 'has a % in its database name'],
    ['postgres://admin:pss@host:99999/orders', 'port that is not a number from 1 to 65535'],
    ['postgres://admin:pss@h:abc/orders', 'port that is not a number from 1 to 65535'],
    ['postgres://admin:pss@host:0/orders', 'port that is not a number from 1 to 65535'],
    ['postgres://[bad', 'is not a URL the service can read'],
  ]
  const partner = { DATABASE_URL: 'postgres://u@db.example.com/orders' }

  it.each([
    ['DATABASE_URL', 'postgres://postgres@127.0.0.1:5432/'],
    ['DATABASE_URL', 'postgres://postgres@127.0.0.1:5432'],
    ['DATABASE_URL', 'postgres://postgres@127.0.0.1:5432/%20%09'],
    ['MIGRATION_DATABASE_URL', 'postgres://owner@db.example.com?sslmode=require'],
  ] as const)('%s=%s names no database: refused, unless PGDATABASE names it', (name, url) => {
    expect(() => loadConfig({ ...partner, [name]: url })).toThrow(
      `Invalid configuration: ${name} names no database: add its name after the host and port (postgres://user@db.example.com:5432/orders).`,
    )
    expect(loadConfig({ ...partner, [name]: url, PGDATABASE: 'orders' })[name]).toBe(url)
  })

  it.each([
    ['DATABASE_URL', 'postgres://u@db.example.com/orders?sslmod=verify-full', 'sslmod', ''],
    [
      'MIGRATION_DATABASE_URL',
      'postgres://o:secret@db.example.com/orders?sslmode=verify-full&ssl_mode=x',
      'ssl_mode',
      '',
    ],
    [
      'DATABASE_URL',
      'postgres://u@db.example.com/orders?connect_timeout=10',
      'connect_timeout',
      ' (the connect timeout is DATABASE_CONNECT_TIMEOUT_MS)',
    ],
    [
      'DATABASE_URL',
      'postgres://u@db.example.com/orders?channel_binding=require',
      'channel_binding',
      '',
    ],
  ] as const)(
    '%s=%s: a parameter pg would pass over silently is refused by name',
    (name, url, parameter, hint) => {
      expect(() => loadConfig({ ...partner, [name]: url })).toThrow(
        new ConfigError(
          `Invalid configuration: ${name} has the parameter "${parameter}", which the PostgreSQL client does not read and would pass over${hint}: remove it, or correct its name (TLS is sslmode=verify-full)`,
        ),
      )
    },
  )

  it.each([
    [
      'DATABASE_URL',
      'postgres://u@db.example.com/orders?sslmode=disable&sslmode=require',
      'sslmode',
    ],
    ['MIGRATION_DATABASE_URL', 'postgres://o@db.example.com/orders?ssl=0&ssl=1', 'ssl'],
  ] as const)('%s=%s: a parameter given twice is refused by name', (name, url, parameter) => {
    expect(() => loadConfig({ ...partner, [name]: url })).toThrow(
      new ConfigError(
        `Invalid configuration: ${name} has the parameter "${parameter}" more than once, and only one of its values would be read: keep one`,
      ),
    )
  })

  it('takes the parameters pg reads', () => {
    const url =
      'postgres://u@db.example.com/orders?sslmode=disable&application_name=shop&options=-c%20work_mem%3D8MB&client_encoding=UTF8&statement_timeout=5000'
    expect(loadConfig({ DATABASE_URL: url }).DATABASE_URL).toBe(url)
  })

  it.each([
    'postgres://admin:p%40ss@127.0.0.1:4400/orders?application_name=ada@example',
    'postgres://admin@127.0.0.1:4400/orders?application_name=a@b&sslmode=disable',
    'postgres://127.0.0.1/orders%40shop',
  ])('%s: an @ in the query, or encoded, is not a password that went astray', (url) => {
    expect(loadConfig({ DATABASE_URL: url }).DATABASE_URL).toBe(url)
  })

  it.each(
    malformed.flatMap(([url, text]) => [
      ['DATABASE_URL', url, text],
      ['MIGRATION_DATABASE_URL', url, text],
    ]),
  )('%s=%s: one line naming it, saying what to write, without the password', (name, url, text) => {
    let message = ''
    try {
      loadConfig({ ...partner, [name]: url })
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError)
      message = (err as Error).message
    }
    expect(message).toMatch(new RegExp(`^Invalid configuration: ${name} `))
    expect(message).toContain(text)
    expect(message.split('\n')).toHaveLength(1)
    expect(message).not.toMatch(/p[/?#]?ss|admin|ss\/w|ss\?w/)
  })

  it.each([
    ['src/server.ts', 'DATABASE_URL', ''],
    // Not under "Migration failed: ": the line said the failure twice.
    ['src/db/migrate-cli.ts', 'MIGRATION_DATABASE_URL', ''],
    ['src/mail/cli.ts', 'DATABASE_URL', ''],
  ])('%s stops with one line naming %s, no stack, no password', (script, name, prefix) => {
    const run = spawnSync(
      process.execPath,
      [script, ...(script.includes('mail') ? ['requeue-failed'] : [])],
      {
        env: {
          PATH: process.env.PATH,
          ...partner,
          [name]: 'postgres://admin:p/ss@127.0.0.1:4400/orders',
        },
        encoding: 'utf8',
        timeout: 20_000,
      },
    )
    expect(run.status, run.stderr).toBe(1)
    expect(run.stderr.trim().split('\n')).toHaveLength(1)
    expect(run.stderr.startsWith(`${prefix}Invalid configuration: ${name} `), run.stderr).toBe(true)
    expect(run.stderr).not.toContain('p/ss')
  })
})

describe('a setting outside its list of values', () => {
  it('is one line naming the setting once, with the values it may take', () => {
    expect(() => loadConfig({ LOG_LEVEL: 'loud' })).toThrow(
      new ConfigError(
        'Invalid configuration: LOG_LEVEL must be one of: fatal, error, warn, info, debug, trace, silent',
      ),
    )
    expect(() => loadConfig({ WEBHOOKS_DISPATCH: 'yes', COMPRESSION: 'gzip' })).toThrow(
      /^Invalid configuration: (COMPRESSION must be one of: on, off; WEBHOOKS_DISPATCH must be one of: on, off, only|WEBHOOKS_DISPATCH must be one of: on, off, only; COMPRESSION must be one of: on, off)$/,
    )
  })

  it('is an enum in the schema, never a union of literals (one error each, not one per value)', () => {
    expect(unionsOfLiterals(ConfigSchema)).toEqual([])
  })
})

describe('LOG_FILE', () => {
  const folder = mkdtempSync(join(tmpdir(), 'log-file-'))
  afterAll(() => rmSync(folder, { recursive: true, force: true }))
  const notAFolder = join(folder, 'plain.txt')
  writeFileSync(notAFolder, '')

  it.each([
    [folder, 'is a folder: name a file in it'],
    [join(notAFolder, 'x.log'), `cannot be made: ${notAFolder} is not a folder`],
    [join(notAFolder, 'deeper', 'x.log'), `cannot be made: ${notAFolder} is not a folder`],
  ])('refuses %s up front, naming it', (path, why) => {
    expect(() => loadConfig({ LOG_FILE: path })).toThrow(
      new ConfigError(`Invalid configuration: LOG_FILE ${path} ${why}`),
    )
  })

  it('takes a new file, in folders still to be made', () => {
    expect(loadConfig({ LOG_FILE: join(folder, 'a', 'b', 'service.log') }).LOG_FILE).toMatch(
      /service\.log$/,
    )
    expect(loadConfig({ LOG_FILE: notAFolder }).LOG_FILE).toBe(notAFolder)
  })

  it('stops the server with one line, not the log thread stack', () => {
    const run = spawnSync(process.execPath, ['src/server.ts'], {
      env: { PATH: process.env.PATH, LOG_FILE: folder },
      encoding: 'utf8',
      timeout: 20_000,
    })
    expect(run.status).toBe(1)
    expect(run.stderr.trim().split('\n')).toEqual([
      `Invalid configuration: LOG_FILE ${folder} is a folder: name a file in it`,
    ])
  })
})

describe('TRUST_PROXY', () => {
  const refused = [
    'abc',
    '999.1.1.1',
    ',',
    '10.0.0.0/99',
    '10.0.0.0/0',
    '10.0.0.1,,10.0.0.2',
    '10.0.0.0/255.0.255.0',
    '::1/129',
  ]
  const withBlanks = ['1 ', ' 2', 'true ']
  const taken = [
    'true',
    'false',
    '2',
    '10.0.0.1',
    '10.0.0.0/8',
    '10.0.0.0/255.0.0.0',
    '::1',
    'fe80::/10',
    '10.0.0.1, 192.168.0.0/16',
  ]

  it.each(refused)('refuses %s at config time with one line naming it', (value) => {
    expect(() => loadConfig({ TRUST_PROXY: value })).toThrow(
      /^Invalid configuration: TRUST_PROXY has .*: give true, a hop count, or addresses\/CIDRs separated by commas$/,
    )
  })

  // "1 " was told as `TRUST_PROXY has "1", which is not an IP address`: 1 is a good hop count.
  it.each([
    ['1 ', '1', 'a hop count'],
    [' 2', '2', 'a hop count'],
    ['true ', 'true', 'the word true'],
    // A tab or a no-break space is a blank too (they got the generic sentence).
    ['1\t', '1', 'a hop count'],
    ['\t1', '1', 'a hop count'],
    ['1\u00a0', '1', 'a hop count'],
  ])('names the blank in %j as the problem, not the value', (value, bare, what) => {
    expect(() => loadConfig({ TRUST_PROXY: value })).toThrow(
      `Invalid configuration: TRUST_PROXY is ${JSON.stringify(value)}: remove the blank (a space, tab or other white space) before or after ${bare}, which makes it a list of addresses rather than ${what}`,
    )
  })

  it('agrees with Fastify, which would otherwise refuse the value at start', () => {
    const fastifyTakes = (value: string) => {
      try {
        Fastify({ trustProxy: trustProxy(value) })
        return true
      } catch {
        return false
      }
    }
    for (const value of refused) expect(fastifyTakes(value), value).toBe(false)
    // Fastify refuses "1 " as the address "1"; " 2" and "true " as well, or worse, takes them.
    for (const value of withBlanks) {
      expect(() => loadConfig({ TRUST_PROXY: value }), value).toThrow(/TRUST_PROXY is "/)
    }
    for (const value of taken) {
      expect(loadConfig({ TRUST_PROXY: value }).TRUST_PROXY).toBe(value)
      expect(fastifyTakes(value), value).toBe(true)
    }
  })
})

describe('every setting with a bad value', () => {
  // One bad value per setting; a new setting must be added here (the keys are compared below).
  const bad: Record<string, string> = {
    NODE_ENV: 'prod',
    PORT: '70000',
    HOST: 'a b',
    DATABASE_URL: 'mysql://x',
    DATABASE_CA_FILE: 'ca.pem',
    MIGRATION_DATABASE_URL: 'mysql://x',
    DATABASE_AUTH: 'token',
    AZURE_CLIENT_ID: 'notaguid',
    DATABASE_POOL_SIZE: '0',
    LOG_LEVEL: 'loud',
    FOLD_INTERVAL_MS: '5',
    ORDER_BATCH_MAX: '0',
    TOP_PRODUCTS_CACHE_MS: '70000',
    LOG_FILE: '/proc/nope/x',
    RATE_LIMIT_MAX: '2000000',
    LOOKUP_MISS_MAX: '2000000',
    TRUST_PROXY: 'maybe',
    COMPRESSION: 'gzip',
    MAX_EVENT_LOOP_DELAY_MS: '70000',
    MAX_HEAP_USED_MB: '0',
    METRICS_TOKEN: 'short',
    REQUEST_TIMEOUT_MS: '0',
    DATABASE_CONNECT_TIMEOUT_MS: '10',
    DATABASE_STATEMENT_TIMEOUT_MS: '3600001',
    SHUTDOWN_TIMEOUT_MS: '10',
    SHUTDOWN_DRAIN_MS: '-1',
    WEB_CONCURRENCY: '0',
    APP_REVISION: 'a b',
    APPLICATIONINSIGHTS_CONNECTION_STRING: 'secret',
    OTEL_EXPORTER_OTLP_ENDPOINT: 'notaurl',
    OTEL_EXPORTER_OTLP_HEADERS: 'Bearer abc',
    OTEL_SERVICE_NAME: 'order service',
    TRACE_SAMPLE_RATIO: '1.5',
    ADMIN_EMAIL: 'bad',
    ADMIN_PASSWORD: 'short',
    WEBHOOKS_DISPATCH: 'yes',
    WEBHOOKS_POLL_MS: '5',
    WEBHOOKS_ALLOW_LOCAL: 'yes',
    WEBHOOKS_SECRET_OVERLAP_HOURS: '169',
    SMTP_URL: 'http://x',
    MAIL_FROM: 'bad',
    PUBLIC_BASE_URL: 'notaurl',
  }
  // Settings no value of which loadConfig refuses (an empty one is unset): refused at start,
  // each in the test file named.
  const refusedAtStart: Record<string, string> = { DATA_DIR: 'test/ops/data-dir.test.ts' }
  // Settings that only go together with another: given with it, so the value is what fails.
  const partner: Record<string, Record<string, string>> = {
    ADMIN_EMAIL: { ADMIN_PASSWORD: 'a-long-enough-password' },
    ADMIN_PASSWORD: { ADMIN_EMAIL: 'admin@example.com' },
  }

  it('DATA_DIR or LOG_FILE of blanks: one line saying so, no folder or file of blanks made', () => {
    for (const blanks of [' ', '  ', '\t', '\u00a0']) {
      expect(() => loadConfig({ DATA_DIR: blanks })).toThrow(
        'Invalid configuration: DATA_DIR is only blanks (spaces, tabs or line breaks): name a folder for the embedded database, like ./data, or leave it unset',
      )
      expect(() => loadConfig({ LOG_FILE: blanks })).toThrow(
        'Invalid configuration: LOG_FILE is only blanks (spaces, tabs or line breaks): name a file to append the logs to, like /var/log/orders.log, or leave it unset',
      )
    }
  })

  it('METRICS_TOKEN of blanks, however long: one line saying so, never taken as a token', () => {
    for (const token of [' '.repeat(16), '\t'.repeat(40), ' \n '.repeat(8), '\u00a0'.repeat(20)]) {
      expect(() => loadConfig({ METRICS_TOKEN: token })).toThrow(
        'Invalid configuration: METRICS_TOKEN is only blanks (spaces, tabs or line breaks): set it to a random secret, such as openssl rand -hex 32 prints',
      )
    }
    // Blanks around a token are the token's characters: the setting has no charset rule.
    expect(loadConfig({ METRICS_TOKEN: ' 0123456789abcdef ' }).METRICS_TOKEN).toBe(
      ' 0123456789abcdef ',
    )
  })

  it('covers every setting', () => {
    expect(Object.keys({ ...bad, ...refusedAtStart }).sort()).toEqual(
      Object.keys(ConfigSchema.properties).sort(),
    )
    for (const file of Object.values(refusedAtStart)) {
      expect(existsSync(new URL(`../${file}`, import.meta.url)), file).toBe(true)
    }
  })

  it.each(Object.entries(bad))(
    '%s=%j: one line naming it that says what to write',
    (name, value) => {
      let message = ''
      try {
        loadConfig({ ...partner[name], [name]: value })
      } catch (err) {
        expect(err).toBeInstanceOf(ConfigError)
        message = (err as Error).message
      }
      expect(message).toMatch(new RegExp(`^Invalid configuration: ${name} `))
      expect(message).not.toMatch(/must match (pattern|format)|must NOT have|must be (<|>)=|\^|\$/)
      expect(message.split('\n')).toHaveLength(1)
    },
  )

  it.each([
    ['TRUST_PROXY', 'maybe', 'TRUST_PROXY must be true, false, a hop count'],
    ['DATABASE_URL', 'mysql://x', 'DATABASE_URL must be a PostgreSQL URL like postgres://'],
    ['APP_REVISION', 'a b', 'APP_REVISION must be up to 64 letters, digits'],
    ['OTEL_EXPORTER_OTLP_ENDPOINT', 'notaurl', 'must be an http:// or https:// URL'],
    ['SMTP_URL', 'http://x', 'SMTP_URL must start with smtp:// or smtps://, not http://'],
    ['PUBLIC_BASE_URL', 'notaurl', 'like https://shop.example.com'],
    ['MAIL_FROM', 'bad', 'like orders@example.com'],
    ['AZURE_CLIENT_ID', 'notaguid', 'a GUID like 00000000-0000-0000-0000-000000000000'],
    ['PORT', '70000', 'PORT must be a whole number from 0 to 65535'],
    ['PORT', 'eighty', 'PORT must be a whole number from 0 to 65535'],
    ['WEBHOOKS_SECRET_OVERLAP_HOURS', '169', 'must be a whole number from 0 to 168'],
    ['TRACE_SAMPLE_RATIO', '1.5', 'TRACE_SAMPLE_RATIO must be a number from 0 to 1'],
    [
      'TRACE_SAMPLE_RATIO',
      '.5.5',
      'TRACE_SAMPLE_RATIO must be a number from 0 to 1, in decimal digits (like 0.25)',
    ],
    ['SMTP_URL', 'smtp://[x', 'SMTP_URL is not a URL'],
    ['SMTP_URL', 'smtp://u:p@ss/w@mail.example.com', 'SMTP_URL has an @ after a /, ? or #'],
    ['SMTP_URL', 'smtps://u:p@ss#w@mail.example.com:465', 'SMTP_URL has an @ after a /, ? or #'],
  ])('%s=%s says what to write', (name, value, text) => {
    expect(() =>
      loadConfig({ PUBLIC_BASE_URL: 'https://shop.example.com', [name]: value }),
    ).toThrow(text)
  })
})

describe('an empty value (NAME=, as in .env and compose)', () => {
  const names = Object.keys(ConfigSchema.properties)
  const unset = (list: string[]) => Object.fromEntries(list.map((n) => [n, undefined]))

  it.each(names)('%s= is the setting left unset: its default, or off', (name) => {
    expect(loadConfig({ [name]: '' })).toEqual(loadConfig({ [name]: undefined }))
  })

  it('gives the defaults, for a sample of settings', () => {
    const config = loadConfig({
      PORT: '',
      HOST: '',
      DATA_DIR: '',
      LOG_LEVEL: '',
      MAX_HEAP_USED_MB: '',
      DATABASE_URL: '',
      METRICS_TOKEN: '',
      ADMIN_EMAIL: '',
      ADMIN_PASSWORD: '',
    })
    expect(config).toMatchObject({
      PORT: 3000,
      HOST: '0.0.0.0',
      DATA_DIR: './data',
      LOG_LEVEL: 'info',
    })
    const { MAX_HEAP_USED_MB, DATABASE_URL, METRICS_TOKEN, ADMIN_EMAIL } = config
    expect([MAX_HEAP_USED_MB, DATABASE_URL, METRICS_TOKEN, ADMIN_EMAIL]).toEqual([
      undefined,
      undefined,
      undefined,
      undefined,
    ])
  })

  // Every `# NAME=value` line of .env.example uncommented as it stands, the defaults and the
  // empty values: what a newcomer's .env holds after uncommenting a few lines, or all of them.
  const example = Object.fromEntries(
    [
      ...readFileSync(new URL('../.env.example', import.meta.url), 'utf8').matchAll(
        /^# ([A-Z][A-Z0-9_]*)=(.*)$/gm,
      ),
    ].map((m) => [m[1] as string, m[2] as string]),
  )

  it('.env.example, every line uncommented, changes nothing', () => {
    expect(Object.keys(example).sort()).toEqual([...names].sort())
    expect(loadConfig(example)).toEqual(loadConfig(unset(names)))
  })

  it('.env.example, every line uncommented: the service starts', async () => {
    // Its own port, address and a database in memory; every other line as the file has it.
    const { PORT: _port, HOST: _host, DATA_DIR: _dataDir, ...rest } = example
    const server = await startServer({ ...rest, DATA_DIR: 'memory://' })
    try {
      expect((await fetch(`${server.url}/readyz`)).status).toBe(200)
    } finally {
      await server.kill()
    }
  }, 180_000)
})

describe('HOST, PORT and MAX_HEAP_USED_MB at start', () => {
  const refusedStart = (env: Record<string, string>) => failedStart(env, startFlags())

  it.each(['a b', '[::1]', 'http://localhost', '-x'])('refuses HOST=%j by its shape', (host) => {
    expect(() => loadConfig({ HOST: host })).toThrow(
      `Invalid configuration: HOST ${JSON.stringify(host)} is not an IP address or a host name: give an IP address`,
    )
  })

  it('takes IP addresses and host names', () => {
    for (const host of ['0.0.0.0', '127.0.0.1', '::', '::1', 'localhost', 'api.example.com'])
      expect(loadConfig({ HOST: host }).HOST).toBe(host)
  })

  it('a HOST that does not resolve: one line naming it, before the database is made', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'host-'))
    rmSync(dataDir, { recursive: true })
    const run = await refusedStart({ DATA_DIR: dataDir, HOST: 'example.invalid' })
    expect(run.code, run.output).toBe(1)
    expect(run.lines).toEqual([
      expect.stringMatching(
        /^Invalid configuration: HOST example\.invalid does not resolve to an address \((ENOTFOUND|EAI_AGAIN)\): give an IP address/,
      ),
    ])
    expect(existsSync(dataDir)).toBe(false)
  }, 60_000)

  it('a HOST not of this machine (EADDRNOTAVAIL): one line naming HOST', async () => {
    const run = await refusedStart({ DATA_DIR: 'memory://', HOST: '192.0.2.1' })
    expect(run.code, run.output).toBe(1)
    expect(run.lines).toEqual([
      expect.stringMatching(
        /^Could not start: HOST 192\.0\.2\.1 is not an address of this machine/,
      ),
    ])
  }, 120_000)

  it('a PORT in use (EADDRINUSE): one line naming PORT', async () => {
    const taken = net.createServer()
    await new Promise<void>((r) => taken.listen(0, '127.0.0.1', r))
    const { port } = taken.address() as net.AddressInfo
    try {
      const run = await refusedStart({ DATA_DIR: 'memory://', PORT: String(port) })
      expect(run.code, run.output).toBe(1)
      expect(run.lines).toEqual([
        `Could not start: PORT ${port} is in use on 127.0.0.1 (EADDRINUSE): stop what listens there or give another PORT`,
      ])
    } finally {
      taken.close()
    }
  }, 120_000)

  it('a PORT in use: told before the database is opened (no embedded folder made), alone or with workers', async () => {
    const taken = net.createServer()
    await new Promise<void>((r) => taken.listen(0, '127.0.0.1', r))
    const { port } = taken.address() as net.AddressInfo
    const dataDir = mkdtempSync(join(tmpdir(), 'port-'))
    rmSync(dataDir, { recursive: true })
    const line = `Could not start: PORT ${port} is in use on 127.0.0.1 (EADDRINUSE): stop what listens there or give another PORT`
    try {
      // Embedded: the folder, created and migrated on a first start, is never made.
      const single = await refusedStart({ DATA_DIR: dataDir, PORT: String(port) })
      expect(single.code, single.output).toBe(1)
      expect(single.lines).toEqual([line])
      expect(existsSync(dataDir)).toBe(false)
      // Several workers: the primary checks before it forks any (a database that does not
      // answer would otherwise be each worker's failure, the port never reached).
      const cluster = await refusedStart({
        PORT: String(port),
        WEB_CONCURRENCY: '2',
        DATABASE_URL: `postgres://postgres@127.0.0.1:${port}/hops2_none`,
        DATABASE_CONNECT_TIMEOUT_MS: '500',
      })
      expect(cluster.code, cluster.output).toBe(1)
      expect(cluster.lines).toEqual([line])
    } finally {
      taken.close()
    }
  }, 120_000)

  it('MAX_HEAP_USED_MB at or above the heap limit: refused, naming both numbers', async () => {
    const limitMb = Math.floor(getHeapStatistics().heap_size_limit / 2 ** 20)
    expect(() => loadConfig({ MAX_HEAP_USED_MB: String(limitMb) })).toThrow(
      `Invalid configuration: MAX_HEAP_USED_MB is ${limitMb} MB, at or above this process's heap limit of ${limitMb} MB`,
    )
    expect(loadConfig({ MAX_HEAP_USED_MB: String(limitMb - 1) }).MAX_HEAP_USED_MB).toBe(limitMb - 1)
    // npm start's --max-old-space-size=192 (and semi-spaces): a limit of some 216 MB.
    const run = await refusedStart({ DATA_DIR: 'memory://', MAX_HEAP_USED_MB: '99999' })
    expect(run.code, run.output).toBe(1)
    expect(run.lines).toEqual([
      expect.stringMatching(
        /^Invalid configuration: MAX_HEAP_USED_MB is 99999 MB, at or above this process's heap limit of 2\d\d MB .*give less than 2\d\d/,
      ),
    ])
  }, 60_000)
})

describe('a Key Vault reference App Service did not resolve', () => {
  // App Service passes a reference it cannot resolve on as its own text (docs/deployment.md,
  // "Secrets in Key Vault"): the service must not run with it, nor refuse it for another reason.
  const reference = (name: string) =>
    `@Microsoft.KeyVault(SecretUri=https://kv-abc.vault.azure.net/secrets/${name}/)`
  const settings = {
    DATABASE_URL: reference('postgres-admin-url'),
    MIGRATION_DATABASE_URL: reference('postgres-admin-url'),
    METRICS_TOKEN: reference('metrics-token'),
    SMTP_URL: reference('smtp-url'),
  }

  it.each(Object.entries(settings))(
    '%s: refused in one line naming it and the causes',
    (name, value) => {
      let message = ''
      try {
        loadConfig({ PUBLIC_BASE_URL: 'https://shop.example.com', [name]: value })
      } catch (err) {
        expect(err).toBeInstanceOf(ConfigError)
        message = (err as Error).message
      }
      expect(message).toMatch(
        new RegExp(
          `^Invalid configuration: ${name} is a Key Vault reference that was not resolved \\(`,
        ),
      )
      expect(message).toContain(value)
      expect(message).toContain('no get permission on secrets')
      expect(message).toContain('keyVaultReferenceIdentity')
      expect(message.split('\n')).toHaveLength(1)
    },
  )

  it('in either form, whatever the case, in any setting the service reads', () => {
    for (const [name, value] of [
      ['LOG_LEVEL', '@Microsoft.KeyVault(VaultName=kv-abc;SecretName=level)'],
      ['PORT', ' @microsoft.keyvault(SecretUri=https://kv-abc.vault.azure.net/secrets/port/)'],
    ] as const) {
      expect(() => loadConfig({ [name]: value })).toThrow(
        `${name} is a Key Vault reference that was not resolved`,
      )
    }
    // A resolved secret is the secret's own text.
    expect(loadConfig({ METRICS_TOKEN: 'a-resolved-token-0123456789' }).METRICS_TOKEN).toBe(
      'a-resolved-token-0123456789',
    )
  })

  it('stops the server at start, so /readyz never answers', () => {
    const run = spawnSync(process.execPath, ['src/server.ts'], {
      env: { PATH: process.env.PATH, PORT: '0', METRICS_TOKEN: settings.METRICS_TOKEN },
      encoding: 'utf8',
      timeout: 20_000,
    })
    expect(run.status).toBe(1)
    expect(run.stderr.trim().split('\n')).toHaveLength(1)
    expect(run.stderr).toMatch(
      /^Invalid configuration: METRICS_TOKEN is a Key Vault reference that was not resolved/,
    )
  })
})
