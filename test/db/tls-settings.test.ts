import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { ConfigError, loadConfig } from '../../src/config.ts'
import { databaseTls } from '../../src/db/tls.ts'

const base = 'postgres://app:secret@db.example.com:5432/orders'
const dir = mkdtempSync(path.join(tmpdir(), 'tls-settings-'))
const pem = path.join(dir, 'ca.pem')
writeFileSync(pem, '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n')
const notPem = path.join(dir, 'not.pem')
writeFileSync(notPem, 'hello')

describe('DATABASE_URL TLS settings: one meaning, decided by the service', () => {
  it.each(['require', 'verify-ca', 'verify-full'])(
    'sslmode=%s: TLS that verifies the certificate and the host name; the mode leaves the URL',
    (mode) => {
      const { ssl, connectionString } = databaseTls(`${base}?sslmode=${mode}&application_name=x`)
      expect(ssl).toEqual({ rejectUnauthorized: true })
      // No checkServerIdentity override: Node checks the host name.
      expect(connectionString).toBe(`${base}?application_name=x`)
    },
  )

  it('no sslmode, or disable: no TLS', () => {
    expect(databaseTls(base).ssl).toBe(false)
    expect(databaseTls(`${base}?sslmode=disable`).ssl).toBe(false)
  })

  it("a CA file adds to Node's roots (it does not replace them) and turns TLS on", () => {
    const { ssl } = databaseTls(base, pem)
    expect(ssl).not.toBe(false)
    const ca = (ssl as { ca: string[] }).ca
    expect(ca.at(-1)).toContain('BEGIN CERTIFICATE')
    expect(ca.length).toBeGreaterThan(100)
  })

  it.each([
    [{ DATABASE_URL: `${base}?sslmode=prefer` }, /sslmode=prefer is not supported/],
    [{ DATABASE_URL: `${base}?sslmode=no-verify` }, /sslmode=no-verify is not supported/],
    [{ DATABASE_URL: `${base}?ssl=maybe` }, /ssl=maybe/],
    [{ DATABASE_URL: `${base}?sslcert=/c.pem` }, /sslcert is not supported/],
    [{ DATABASE_URL: `${base}?sslmode=disable`, DATABASE_CA_FILE: pem }, /turns TLS off/],
    [
      { DATABASE_URL: base, DATABASE_CA_FILE: path.join(dir, 'missing.pem') },
      /DATABASE_CA_FILE: cannot read .*ENOENT/,
    ],
    [
      { DATABASE_URL: base, DATABASE_CA_FILE: notPem },
      /DATABASE_CA_FILE: .* holds no PEM certificate/,
    ],
    [{ DATABASE_CA_FILE: pem }, /DATABASE_CA_FILE needs DATABASE_URL/],
  ])('refuses %o at start with one line', (env, message) => {
    expect(() => loadConfig(env)).toThrow(ConfigError)
    expect(() => loadConfig(env)).toThrow(message)
  })
})
