import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { keyVaultNamePattern } from '../../scripts/deploy/key-vault.ts'
import {
  type ArmObject,
  type ArmScope,
  type ArmValue,
  armTenantId,
  evaluate,
} from '../helpers/arm-expression.ts'
import { baseArgs, type FakeArm, fakeArmPerTest, parametersFile, root, runCli } from './fake-arm.ts'

// The secrets in Key Vault (docs/deployment.md, "Secrets in Key Vault"): with
// secretsInKeyVault=true the template writes them into a vault of its own, grants the apps'
// identity `get` on secrets, and the apps' settings hold versionless references, so that a
// release, even one with a rotated secret, changes no setting and restarts nothing.

interface Resource {
  condition?: string
  type: string
  name: string
  apiVersion?: string
  dependsOn?: string[]
  identity?: { userAssignedIdentities: Record<string, unknown> }
  properties: Record<string, unknown> & {
    keyVaultReferenceIdentity?: string
    siteConfig?: { appSettings: { name: string; value: string }[] }
  }
  resources?: Resource[]
}

const template = JSON.parse(readFileSync(`${root}/arm/azuredeploy.json`, 'utf8')) as {
  parameters: Record<string, { type: string; defaultValue?: ArmValue }>
  variables: Record<string, unknown>
  resources: Resource[]
}
const parameterFile = JSON.parse(readFileSync(parametersFile, 'utf8')) as {
  parameters: Record<string, { value: ArmValue }>
}
const flatten = (resources: Resource[], parent = ''): Resource[] =>
  resources.flatMap((r) => {
    const type = parent ? `${parent}/${r.type}` : r.type
    return [{ ...r, type }, ...flatten(r.resources ?? [], type)]
  })
const resources = flatten(template.resources)
const vault = resources.find((r) => r.type === 'Microsoft.KeyVault/vaults') as Resource
const secrets = resources.filter((r) => r.type === 'Microsoft.KeyVault/vaults/secrets')
const apps = resources.filter((r) => /^Microsoft\.Web\/sites(\/slots)?$/.test(r.type))
const secretSettings = ['DATABASE_URL', 'MIGRATION_DATABASE_URL', 'METRICS_TOKEN', 'SMTP_URL']

/** What reference() answers for the resources the settings read at deployment. */
function runtime(id: string): ArmObject {
  if (id.startsWith('Microsoft.ManagedIdentity/')) {
    return { principalId: 'identity-principal-id', clientId: 'identity-client-id' }
  }
  if (id.startsWith('Microsoft.DBforPostgreSQL/')) {
    return { fullyQualifiedDomainName: 'orders-pg-prod.postgres.database.azure.com' }
  }
  if (id.startsWith('Microsoft.Insights/components/'))
    return { ConnectionString: 'InstrumentationKey=k' }
  throw new Error(`no runtime properties for ${id}`)
}

const secretsOf = {
  postgresAdminPassword: 'p@ss:w/rd#1',
  metricsToken: 'scrape-token-0123456789abcdef',
}

/** The parameters file, the template's defaults and `set`, as ARM would see them. */
function scopeFor(set: Record<string, ArmValue>): ArmScope {
  const parameters: Record<string, ArmValue> = { ...secretsOf }
  const scope: ArmScope = { parameters, variables: template.variables, reference: runtime }
  for (const [name, { value }] of Object.entries(parameterFile.parameters)) parameters[name] = value
  Object.assign(parameters, set)
  for (const [name, { defaultValue }] of Object.entries(template.parameters)) {
    if (!(name in parameters) && defaultValue !== undefined) {
      parameters[name] = evaluate(defaultValue, scope)
    }
  }
  return scope
}

const deployed = (r: Resource, scope: ArmScope) =>
  r.condition === undefined || evaluate(r.condition, scope) === true

/** Each deployed app's settings, evaluated, by the app's evaluated name. */
function settingsOfEachApp(scope: ArmScope): Record<string, Record<string, ArmValue>> {
  return Object.fromEntries(
    apps
      .filter((app) => deployed(app, scope))
      .map((app) => [
        String(evaluate(app.name, scope)),
        Object.fromEntries(
          (app.properties.siteConfig?.appSettings ?? []).map((s) => [
            s.name,
            evaluate(s.value, scope),
          ]),
        ),
      ]),
  )
}

/** The secrets a deployment writes: name → value. */
function secretValues(scope: ArmScope): Record<string, ArmValue> {
  return Object.fromEntries(
    secrets
      .filter((s) => deployed(s, scope))
      .map((s) => [s.name, evaluate(s.properties.value, scope)]),
  )
}

const versionless =
  /^@Microsoft\.KeyVault\(SecretUri=https:\/\/([a-z0-9-]+)\.vault\.azure\.net\/secrets\/([a-z0-9-]+)\/\)$/

describe('ARM template: secrets in Key Vault', () => {
  it('is opt-in: by default no vault, and every secret a plain setting as before', () => {
    expect(template.parameters.secretsInKeyVault).toMatchObject({
      type: 'bool',
      defaultValue: false,
    })
    const scope = scopeFor({})
    expect([vault, ...secrets].filter((r) => deployed(r, scope))).toEqual([])
    for (const settings of Object.values(settingsOfEachApp(scope))) {
      expect(settings.METRICS_TOKEN).toBe(secretsOf.metricsToken)
      expect(settings.DATABASE_URL).toContain(encodeURIComponent(secretsOf.postgresAdminPassword))
      for (const name of secretSettings) expect(String(settings[name])).not.toContain('@Microsoft')
    }
  })

  it("names the vault kv-<hash of the group and web app>: 16 characters, Key Vault's rule", () => {
    const name = String(scopeFor({}).parameters.keyVaultName)
    expect(name).toMatch(/^kv-[a-z0-9]{13}$/)
    expect(name).toMatch(keyVaultNamePattern)
    expect(String(scopeFor({ webAppName: 'shop-2' }).parameters.keyVaultName)).not.toBe(name)
    // The same at every deployment: no newGuid() or utcNow() in it.
    expect(template.parameters.keyVaultName?.defaultValue).toBe(
      "[format('kv-{0}', uniqueString(resourceGroup().id, parameters('webAppName')))]",
    )
    expect(template.parameters.keyVaultName).toMatchObject({ minLength: 3, maxLength: 24 })
  })

  it("grants the apps' identity get on secrets by access policy, not RBAC; soft delete, no purge protection", () => {
    const scope = scopeFor({ secretsInKeyVault: true })
    expect(vault.apiVersion).toBe('2024-11-01')
    for (const secret of secrets) expect(secret.apiVersion).toBe('2024-11-01')
    expect(vault.properties).toMatchObject({
      sku: { family: 'A', name: 'standard' },
      enableRbacAuthorization: false,
      enableSoftDelete: true,
      softDeleteRetentionInDays: 7,
    })
    // Once on, purge protection can never be turned off, and a deleted vault's name stays taken.
    expect(vault.properties).not.toHaveProperty('enablePurgeProtection')
    expect(evaluate(vault.properties.tenantId, scope)).toBe(armTenantId)
    const policies = vault.properties.accessPolicies as Record<string, unknown>[]
    expect(policies).toHaveLength(1)
    const [policy] = policies
    expect(evaluate(policy?.tenantId, scope)).toBe(armTenantId)
    expect(evaluate(policy?.objectId, scope)).toBe('identity-principal-id')
    expect(policy?.objectId).toContain("reference(variables('identityId')")
    expect(policy?.permissions).toEqual({ secrets: ['get'] })
    // No Microsoft.Authorization/roleAssignments: CD's Contributor may not create them.
    expect(resources.some((r) => r.type.startsWith('Microsoft.Authorization/'))).toBe(false)
  })

  it('resolves through the identity every app already has (keyVaultReferenceIdentity); off, the default stays', () => {
    expect(apps).toHaveLength(3)
    const on = scopeFor({ secretsInKeyVault: true })
    const off = scopeFor({})
    for (const app of apps) {
      const identity = app.properties.keyVaultReferenceIdentity
      expect(evaluate(identity, on)).toBe(evaluate("[variables('identityId')]", on))
      // App Service's own default: a deployment that leaves the vault off changes no site property.
      expect(evaluate(identity, off)).toBe('SystemAssigned')
      expect(Object.keys(app.identity?.userAssignedIdentities ?? {})).toEqual([
        "[variables('identityId')]",
      ])
    }
  })

  it.each([
    ['password', 'smtps://mailer:sm7p@smtp.example.com:465'],
    ['entra', ''],
  ])(
    'with databaseAuth=%s, smtpUrl %j: each secret setting is a versionless reference to a secret written from its parameter',
    (databaseAuth, smtpUrl) => {
      const plain = settingsOfEachApp(scopeFor({ databaseAuth, smtpUrl }))
      const scope = scopeFor({ databaseAuth, smtpUrl, secretsInKeyVault: true })
      const written = secretValues(scope)
      expect(Object.keys(written).sort()).toEqual(
        smtpUrl
          ? ['metrics-token', 'postgres-admin-url', 'smtp-url']
          : ['metrics-token', 'postgres-admin-url'],
      )
      const apps = settingsOfEachApp(scope)
      expect(Object.keys(apps)).toHaveLength(3)
      for (const [app, settings] of Object.entries(apps)) {
        for (const name of secretSettings) {
          const value = String(settings[name])
          const reference = versionless.exec(value)
          const holdsSecret =
            !(name === 'DATABASE_URL' && databaseAuth === 'entra') &&
            !(name === 'SMTP_URL' && !smtpUrl)
          if (!holdsSecret) {
            // The identity's URL (no password), or e-mails off: nothing to keep secret.
            expect(value, `${app} ${name}`).toBe(plain[app]?.[name])
            continue
          }
          expect(reference, `${app} ${name}: ${value}`).not.toBeNull()
          expect(reference?.[1]).toBe(scope.parameters.keyVaultName)
          // Resolved, it is what the plain setting was: the apps run with the same values.
          expect(written[reference?.[2] ?? ''], `${app} ${name}`).toBe(plain[app]?.[name])
        }
      }
    },
  )

  it('writes the vault, its access policy and the secrets before any app is given the references', () => {
    const scope = scopeFor({ secretsInKeyVault: true, smtpUrl: 'smtp://u:p@mail.test:587' })
    const ids = (r: Resource) => (r.dependsOn ?? []).map((d) => String(evaluate(d, scope)))
    const vaultName = String(scope.parameters.keyVaultName)
    const vaultId = `Microsoft.KeyVault/vaults/${vaultName}`
    const secretIds = secrets.map((s) => `Microsoft.KeyVault/vaults/secrets/${vaultName}/${s.name}`)
    // The access policy is part of the vault resource, so "after the vault" is after the policy.
    expect(ids(vault)).toContain(
      'Microsoft.ManagedIdentity/userAssignedIdentities/orders-web-prod-identity',
    )
    for (const secret of secrets) expect(ids(secret), secret.name).toContain(vaultId)
    const adminUrl = secrets.find((s) => s.name === 'postgres-admin-url') as Resource
    expect(ids(adminUrl)).toContain('Microsoft.DBforPostgreSQL/flexibleServers/orders-pg-prod')
    for (const app of apps) {
      expect(ids(app), app.name).toEqual(expect.arrayContaining([vaultId, ...secretIds]))
    }
  })
})

/** The parameters of the deployment PUT the fake ARM received. */
function sentParameters(arm: FakeArm): Record<string, { value: ArmValue }> {
  const put = arm.requests.find((r) => r.method === 'PUT' && r.path.endsWith('/deploy-test'))
  if (!put) throw new Error('no deployment PUT')
  type Body = { properties: { parameters: Record<string, { value: ArmValue }> } }
  return (put.body as Body).properties.parameters
}

describe('npm run deploy with secretsInKeyVault', () => {
  const fakeArm = fakeArmPerTest()
  const env = (release: number) => ({
    AZURE_SUBSCRIPTION_ID: '00000000-0000-4000-8000-000000000001',
    TEST_PG_PASSWORD: `p@ss:w/rd#${release}`,
    TEST_METRICS_TOKEN: `scrape-token-0123456789abcdef-${release}`,
    TEST_SMTP_URL: `smtps://mailer:pw-${release}@smtp.example.com:465`,
  })

  /** Deploys release `n` (a new image, rotated secrets) and evaluates what each app gets. */
  async function release(n: number, set: string[]) {
    const arm = await fakeArm()
    const args = [...baseArgs, '--set-from-env', 'smtpUrl=TEST_SMTP_URL', ...set]
    const result = await runCli(
      [...args, '--set', `stagingDockerImage=ghcr.io/acme/os:${n}`],
      arm,
      {
        env: env(n),
      },
    )
    expect(result.err).toEqual([])
    const sent = sentParameters(arm)
    const scope = scopeFor(Object.fromEntries(Object.entries(sent).map(([k, v]) => [k, v.value])))
    return { settings: settingsOfEachApp(scope), secrets: secretValues(scope) }
  }

  it('changes no app setting from one release to the next, rotated secrets included: nothing restarts', async () => {
    const on = ['--set', 'secretsInKeyVault=true']
    const [first, second] = [await release(1, on), await release(2, on)]
    expect(Object.keys(first.settings)).toHaveLength(3)
    expect(second.settings).toEqual(first.settings)
    // The rotated values went to the vault, where the apps read them at their next start.
    expect(second.secrets['metrics-token']).toBe('scrape-token-0123456789abcdef-2')
    expect(second.secrets['smtp-url']).not.toBe(first.secrets['smtp-url'])
  })

  it('without it, a rotated secret changes the settings of every app (a restart)', async () => {
    const [first, second] = [await release(1, []), await release(2, [])]
    for (const app of Object.keys(first.settings)) {
      for (const name of secretSettings) {
        expect(second.settings[app]?.[name], `${app} ${name}`).not.toBe(first.settings[app]?.[name])
      }
    }
  })

  it.each(['orders--vault', 'kv', '1-orders', 'orders-vault-', 'a-vault-name-longer-than-24'])(
    'stops keyVaultName=%s before any Azure call',
    async (name) => {
      const arm = await fakeArm()
      const set = ['--set', 'secretsInKeyVault=true', '--set', `keyVaultName=${name}`]
      const result = await runCli([...baseArgs, ...set], arm, { env: env(1) })
      expect(result.code).toBe(2)
      expect(result.err.join('\n')).toContain(`keyVaultName "${name}" is not a Key Vault name`)
      expect(arm.requests).toEqual([])
    },
  )

  it('passes a valid name and the switch on to ARM', async () => {
    const arm = await fakeArm()
    const set = ['--set', 'secretsInKeyVault=true', '--set', 'keyVaultName=orders-vault-prod']
    const result = await runCli([...baseArgs, ...set], arm, { env: env(1) })
    expect(result.code).toBe(0)
    const sent = sentParameters(arm)
    expect(sent.secretsInKeyVault).toEqual({ value: true })
    expect(sent.keyVaultName).toEqual({ value: 'orders-vault-prod' })
  })
})
