import { spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Ajv } from 'ajv'
import { describe, expect, it } from 'vitest'
import { parse } from 'yaml'
import { ConfigSchema, loadConfig } from '../../src/config.ts'

// A developer's machine (issue 18): compose.yaml, the devcontainer and .env.example. No compose
// binary is available here, so compose.yaml is validated against the Compose Specification's
// JSON schema (shipped by the dclint package) and CI also runs `docker compose config`.

const root = new URL('../../', import.meta.url)
const read = (path: string) => readFileSync(new URL(path, root), 'utf8')

interface Service {
  build?: { context: string; dockerfile: string }
  image?: string
  environment?: Record<string, string>
  env_file?: { path: string; required: boolean }[]
  depends_on?: Record<string, { condition: string }>
  healthcheck?: { test: string[] }
  volumes?: string[]
  ports?: string[]
  stop_grace_period?: string
}

interface Compose {
  services: Record<string, Service>
  volumes?: Record<string, unknown>
}

const compose = parse(read('compose.yaml')) as Compose
const app = compose.services.app as Service
const db = compose.services.db as Service

const composeSchema = JSON.parse(read('node_modules/dclint/schemas/compose.schema.json'))
// The schema is draft-07, Ajv's default, named by an https URL Ajv does not know (it knows
// http://json-schema.org/draft-07/schema): the $schema line is dropped. Its annotations that Ajv's
// strict mode does not know (deprecated, custom formats such as "duration") are not checked here.
const { $schema: _draft07, ...composeSchemaBody } = composeSchema
const validateCompose = new Ajv({ strict: false, allErrors: true, validateFormats: false }).compile(
  composeSchemaBody,
)

describe('compose.yaml', () => {
  it("is valid under the Compose Specification's JSON schema", () => {
    expect(composeSchema.$id).toBe('compose_spec.json')
    const valid = validateCompose(compose)
    expect(validateCompose.errors ?? []).toEqual([])
    expect(valid).toBe(true)
  })

  it('would be refused by that schema with a misspelt field (the check is not vacuous)', () => {
    const broken = structuredClone(compose)
    ;(broken.services.app as Record<string, unknown>).depend_on = app.depends_on
    expect(validateCompose(broken)).toBe(false)
    const badCondition = structuredClone(compose)
    ;(badCondition.services.app as Service).depends_on = { db: { condition: 'service_up' } }
    expect(validateCompose(badCondition)).toBe(false)
  })

  it('builds the service from the Dockerfile and starts it once PostgreSQL 16 is healthy', () => {
    expect(app.build).toEqual({ context: '.', dockerfile: 'Dockerfile' })
    expect(db.image).toMatch(/^postgres:16(\.\d+)?(-[a-z0-9]+)?$/)
    expect(db.healthcheck?.test).toEqual(expect.arrayContaining(['CMD', 'pg_isready']))
    expect(app.depends_on).toEqual({ db: { condition: 'service_healthy' } })
    expect(app.healthcheck?.test.join(' ')).toContain('/readyz')
    expect(app.ports).toContain('3000:3000')
  })

  it('runs the PostgreSQL major that CI tests on and the Azure template deploys by default', () => {
    const major = (image: unknown) => /^postgres:(\d+)/.exec(String(image))?.[1]
    const ci = parse(read('.github/workflows/ci.yml')) as {
      jobs: Record<string, { services?: Record<string, { image: string }> }>
    }
    const ciImages = Object.values(ci.jobs).flatMap((job) =>
      Object.values(job.services ?? {}).map((service) => service.image),
    )
    const arm = JSON.parse(read('arm/azuredeploy.json')) as {
      parameters: { postgresVersion: { defaultValue: string } }
    }
    expect(ciImages.map(major)).toEqual([major(db.image)])
    expect(arm.parameters.postgresVersion.defaultValue).toBe(major(db.image))
    // The port it publishes is a local PostgreSQL's: the README says what to do when it is taken.
    expect(db.ports).toContain('127.0.0.1:5432:5432')
    expect(read('README.md')).toMatch(
      /port is already allocated[\s\S]{0,200}127\.0\.0\.1:5433:5432/,
    )
  })

  it("keeps the database's data in a named volume", () => {
    const [mount, ...others] = db.volumes ?? []
    expect(others).toEqual([])
    const [source, target] = (mount ?? '').split(':')
    expect(target).toBe('/var/lib/postgresql/data')
    expect(Object.keys(compose.volumes ?? {})).toEqual([source])
  })

  it("points the service at the compose database with that database's credentials", () => {
    const url = new URL(app.environment?.DATABASE_URL ?? '')
    const env = db.environment ?? {}
    expect([url.hostname, url.port, url.username, url.password, url.pathname]).toEqual([
      'db',
      '5432',
      env.POSTGRES_USER,
      env.POSTGRES_PASSWORD,
      `/${env.POSTGRES_DB}`,
    ])
    // The service would start with these settings (no TLS on the compose network).
    expect(() => loadConfig(app.environment)).not.toThrow()
    expect(app.env_file).toEqual([{ path: '.env', required: false }])
  })

  it('lets the service finish its shutdown before Docker kills it', () => {
    // docker stop / compose down send SIGTERM, then SIGKILL after the grace period (10 s unless
    // set), and the service may take SHUTDOWN_TIMEOUT_MS (10 s by default) to finish what is in
    // flight: a grace period no longer than that kills a shutdown the service would complete.
    const seconds = /^(\d+)s$/.exec(app.stop_grace_period ?? '')?.[1]
    expect(seconds, `stop_grace_period: ${app.stop_grace_period}`).toBeDefined()
    const shutdownMs = loadConfig(app.environment).SHUTDOWN_TIMEOUT_MS
    expect(shutdownMs).toBe(10_000)
    expect(Number(seconds) * 1000).toBeGreaterThanOrEqual(shutdownMs + 5_000)
  })

  it('is checked by `docker compose config` in CI, where a compose binary exists', () => {
    const ci = read('.github/workflows/ci.yml')
    expect(ci).toMatch(/docker compose -f compose\.yaml config --quiet/)
  })
})

describe('.devcontainer', () => {
  const devcontainer = JSON.parse(read('.devcontainer/devcontainer.json'))
  const extra = parse(read('.devcontainer/compose.yaml')) as Compose
  const dev = extra.services[devcontainer.service] as Service

  it('works in a Node 24 container beside the PostgreSQL of compose.yaml', () => {
    expect(devcontainer.dockerComposeFile).toEqual(['../compose.yaml', 'compose.yaml'])
    expect(dev.image).toMatch(/node:24\b/)
    expect(devcontainer.runServices).toEqual(expect.arrayContaining(['db', devcontainer.service]))
    expect(devcontainer.runServices).not.toContain('app')
    expect(dev.depends_on).toEqual({ db: { condition: 'service_healthy' } })
    expect(dev.environment?.DATABASE_URL).toBe(app.environment?.DATABASE_URL)
    expect(dev.environment?.TEST_DATABASE_URL).toMatch(/^postgres:\/\/[^@]+@db:5432\//)
    expect(dev.volumes?.[0]).toBe(`..:${devcontainer.workspaceFolder}:cached`)
    // The two files merged are valid Compose too.
    const merged = structuredClone(compose)
    Object.assign(merged.services, extra.services)
    expect(validateCompose(merged), JSON.stringify(validateCompose.errors)).toBe(true)
  })
})

/** `# NAME=value` lines of .env.example (and `NAME=value` ones, wrongly), in order. */
function envExampleSettings(text: string): [string, string][] {
  return [...text.matchAll(/^(?:# ?)?([A-Z][A-Z0-9_]*)=(.*)$/gm)].map((m) => [
    m[1] as string,
    m[2] as string,
  ])
}

/**
 * What .env.example gets wrong against the settings `properties` (name: {default?}): a setting
 * missing, one the service does not read, a listed default that is not the schema's, a line
 * that is not commented out (a copied .env would then change a setting silently).
 */
function envExampleProblems(text: string, properties: Record<string, { default?: unknown }>) {
  const listed = envExampleSettings(text)
  const names = listed.map(([name]) => name)
  const problems: string[] = []
  for (const name of Object.keys(properties)) {
    if (!names.includes(name)) problems.push(`${name}: missing`)
  }
  for (const [name, value] of listed) {
    const setting = properties[name]
    if (!setting) problems.push(`${name}: not a setting`)
    else if (value !== String(setting.default ?? '')) {
      problems.push(`${name}: ${JSON.stringify(value)} is not the default`)
    }
  }
  for (const name of names.filter((n, i) => names.indexOf(n) !== i)) {
    problems.push(`${name}: listed twice`)
  }
  for (const line of text.split('\n').filter((l) => /^[A-Z][A-Z0-9_]*=/.test(l))) {
    problems.push(`${line}: not commented out`)
  }
  return problems
}

describe('.env.example', () => {
  const text = read('.env.example')
  const properties = ConfigSchema.properties as Record<string, { default?: unknown }>

  it('lists every setting of the config schema, with its default, and nothing else', () => {
    expect(envExampleProblems(text, properties)).toEqual([])
    expect(
      envExampleSettings(text)
        .map(([name]) => name)
        .sort(),
    ).toEqual(Object.keys(properties).sort())
  })

  it('gives each setting a comment line above it', () => {
    const lines = text.split('\n')
    for (const [i, line] of lines.entries()) {
      if (/^# ?[A-Z][A-Z0-9_]*=/.test(line) && line !== '# ADMIN_PASSWORD=') {
        expect(lines[i - 1] ?? '', line).toMatch(/^# (?![A-Z][A-Z0-9_]*=)\S/)
      }
    }
  })

  it('tells how to write a value the shell would misread, as `set -a; . ./.env` loads it', () => {
    // Unquoted, MAIL_FROM=Shop <orders@example.com> stopped the shell at that line (a syntax
    // error) and npm start ran without it and every setting below it.
    const example = /\b(MAIL_FROM)='([^']*)'/.exec(text)
    expect(example, '.env.example shows a single-quoted value').not.toBeNull()
    const [line, name, value] = example as unknown as [string, string, string]
    expect(value).toMatch(/ <.*>$/)
    const dir = mkdtempSync(join(tmpdir(), 'env-'))
    const load = (body: string) => {
      writeFileSync(join(dir, '.env'), `${body}\nAFTER=1\n`)
      const script = `set -a; . ./.env; set +a; printf '%s|%s' "$${name}" "$AFTER"`
      return spawnSync('bash', ['-c', script], { cwd: dir, encoding: 'utf8' }).stdout
    }
    expect(load(line)).toBe(`${value}|1`)
    expect(load(`${name}=${value}`)).toBe('|')
    rmSync(dir, { recursive: true })
  })

  it('fails when a setting is added to the schema or to the file alone', () => {
    // A complete file for the current schema, so this test does not depend on the real one.
    const complete = Object.entries(properties)
      .map(([name, { default: value }]) => `# About ${name}.\n# ${name}=${value ?? ''}\n`)
      .join('')
    expect(envExampleProblems(complete, properties)).toEqual([])
    const added = { ...properties, NEW_SETTING: { default: 5 } }
    expect(envExampleProblems(complete, added)).toEqual(['NEW_SETTING: missing'])
    expect(envExampleProblems(`${complete}# STRAY=1\n`, properties)).toEqual([
      'STRAY: not a setting',
    ])
    expect(envExampleProblems(complete.replace('# PORT=3000', '# PORT=3001'), properties)).toEqual([
      'PORT: "3001" is not the default',
    ])
    expect(envExampleProblems(complete.replace('# PORT=3000', 'PORT=3000'), properties)).toEqual([
      'PORT=3000: not commented out',
    ])
    expect(envExampleProblems(`${complete}# PORT=3000\n`, properties)).toEqual([
      'PORT: listed twice',
    ])
  })
})

/** The README's "Configuration" table: each row's variable and its default cell, in order. */
function readmeSettings(text: string): [string, string][] {
  const start = text.indexOf('\n## Configuration\n')
  const end = text.indexOf('\n## ', start + 1)
  return [...text.slice(start, end).matchAll(/^\| `([A-Z][A-Z0-9_]*)` \| ([^|]*) \|/gm)].map(
    (m) => [m[1] as string, (m[2] as string).trim()],
  )
}

describe("README's configuration table", () => {
  const rows = readmeSettings(read('README.md'))
  const properties = ConfigSchema.properties as Record<string, { default?: unknown }>

  it('has a row for every setting of the config schema, and for nothing else', () => {
    expect(rows.length).toBeGreaterThan(20)
    expect(rows.map(([name]) => name).sort()).toEqual(Object.keys(properties).sort())
  })

  it("gives each setting's default as the schema does", () => {
    for (const [name, cell] of rows) {
      const value = properties[name]?.default
      if (value === undefined) expect(cell, name).not.toMatch(/^`[^`]*`$/)
      else if (value === '') expect(cell, name).toBe('(empty)')
      else expect(cell, name).toBe(`\`${value}\``)
    }
  })
})
