import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'

// The database side of the ARM template (issue 18): verified TLS, migrations as the admin,
// and the app signing in as its managed identity when databaseAuth=entra
// (docs/deployment.md, "What runs as whom, what is verified").

interface Resource {
  type: string
  name: string
  condition?: string
  identity?: { type: string; userAssignedIdentities: Record<string, unknown> }
  dependsOn?: string[]
  properties?: Record<string, unknown>
  resources?: Resource[]
}

const template = JSON.parse(
  readFileSync(new URL('../../arm/azuredeploy.json', import.meta.url), 'utf8'),
) as {
  parameters: Record<string, { defaultValue?: unknown; allowedValues?: unknown[] }>
  variables: Record<string, string>
  resources: Resource[]
}
const byType = (type: string) => template.resources.filter((r) => r.type === type)
const settingsOf = (r: Resource) =>
  Object.fromEntries(
    (
      r.properties as { siteConfig: { appSettings: { name: string; value: string }[] } }
    ).siteConfig.appSettings.map((s) => [s.name, s.value]),
  )
const apps = [...byType('Microsoft.Web/sites'), ...byType('Microsoft.Web/sites/slots')]
const deploymentDoc = readFileSync(new URL('../../docs/deployment.md', import.meta.url), 'utf8')

describe('ARM template: the database connection', () => {
  it('every database URL verifies the certificate and the host name (sslmode=verify-full)', () => {
    // The web app, its staging slot, the dispatch-only app.
    expect(apps).toHaveLength(3)
    for (const app of apps) {
      const settings = settingsOf(app)
      for (const name of ['DATABASE_URL', 'MIGRATION_DATABASE_URL']) {
        expect(settings[name]).toContain('sslmode=verify-full')
        expect(settings[name]).not.toMatch(/sslmode=(require|prefer|verify-ca)/)
      }
    }
  })

  it('migrations run as the admin; with databaseAuth=entra the app serves as its identity, without a password', () => {
    expect(template.parameters.databaseAuth).toMatchObject({
      defaultValue: 'password',
      allowedValues: ['password', 'entra'],
    })
    for (const app of apps) {
      const settings = settingsOf(app)
      expect(settings.MIGRATION_DATABASE_URL).toContain(
        "uriComponent(parameters('postgresAdminPassword'))",
      )
      expect(settings.DATABASE_AUTH).toBe("[parameters('databaseAuth')]")
      const url = settings.DATABASE_URL ?? ''
      expect(url).toMatch(/^\[if\(equals\(parameters\('databaseAuth'\), 'entra'\), format\(/)
      // The entra branch names the identity and carries no password.
      const start = url.indexOf('format(')
      const entraBranch = url.slice(start, url.indexOf("), format('", start))
      expect(entraBranch).toContain("variables('identityName')")
      expect(entraBranch).not.toContain('postgresAdminPassword')
      expect(settings.AZURE_CLIENT_ID).toBe(
        "[reference(variables('identityId'), '2023-01-31').clientId]",
      )
    }
  })

  it('one user-assigned identity, on production, the staging slot and the dispatch app', () => {
    const [identity] = byType('Microsoft.ManagedIdentity/userAssignedIdentities')
    expect(identity?.name).toBe("[variables('identityName')]")
    expect(template.variables.identityName).toBe(
      "[format('{0}-identity', parameters('webAppName'))]",
    )
    for (const app of apps) {
      expect(app.identity).toEqual({
        type: 'UserAssigned',
        userAssignedIdentities: { "[variables('identityId')]": {} },
      })
      expect(app.dependsOn).toContain("[variables('identityId')]")
    }
  })

  it('the server takes Entra ID tokens and, when one is named, has an Entra administrator', () => {
    const [server] = byType('Microsoft.DBforPostgreSQL/flexibleServers')
    expect(server?.properties?.authConfig).toEqual({
      activeDirectoryAuth: 'Enabled',
      passwordAuth: 'Enabled',
      tenantId: '[subscription().tenantId]',
    })
    const admin = server?.resources?.find((r) => r.type === 'administrators')
    expect(admin?.condition).toBe("[not(empty(parameters('postgresEntraAdminObjectId')))]")
    expect(admin?.properties).toMatchObject({
      principalName: "[parameters('postgresEntraAdminName')]",
      principalType: "[parameters('postgresEntraAdminType')]",
    })
    expect(template.parameters.postgresEntraAdminObjectId?.defaultValue).toBe('')
  })

  it("writes the server's child resources one at a time (the server rejects concurrent changes)", () => {
    const [server] = byType('Microsoft.DBforPostgreSQL/flexibleServers')
    const children = server?.resources ?? []
    expect(children.map((r) => r.type).sort()).toEqual([
      'administrators',
      'databases',
      'firewallRules',
    ])
    // Which child a dependsOn entry names: the database and the firewall rule through their id
    // variables, the others through resourceId() of their type.
    const byVariable: Record<string, string> = {
      databases: "[variables('databaseId')]",
      firewallRules: "[variables('postgresFirewallRuleId')]",
    }
    const named = (entry: string) =>
      children.find((child) =>
        byVariable[child.type]
          ? entry === byVariable[child.type]
          : entry.includes(`flexibleServers/${child.type}'`),
      )
    const dependenciesOf = (child: Resource, seen = new Set<Resource>()): Set<Resource> => {
      for (const entry of child.dependsOn ?? []) {
        const before = named(entry)
        if (before && !seen.has(before)) {
          seen.add(before)
          dependenciesOf(before, seen)
        }
      }
      return seen
    }
    for (const a of children) {
      expect(a.dependsOn, a.type).toContain("[variables('postgresServerId')]")
      for (const b of children) {
        if (a === b) continue
        const ordered = dependenciesOf(a).has(b) || dependenciesOf(b).has(a)
        expect(ordered, `${a.type} and ${b.type} are ordered`).toBe(true)
      }
    }
  })

  it('the docs name every app setting that holds a secret, and claim no app without one', () => {
    // What the template fills from a securestring parameter, on any of the three apps.
    const secure = Object.entries(template.parameters)
      .filter(([, definition]) => (definition as { type?: string }).type === 'securestring')
      .map(([name]) => `parameters('${name}')`)
    const secretSettings = new Set<string>()
    for (const app of apps) {
      for (const [name, value] of Object.entries(settingsOf(app))) {
        if (secure.some((parameter) => value.includes(parameter))) secretSettings.add(name)
      }
    }
    expect([...secretSettings].sort()).toEqual([
      'DATABASE_URL',
      'METRICS_TOKEN',
      'MIGRATION_DATABASE_URL',
      'SMTP_URL',
    ])
    const start = deploymentDoc.indexOf('### Which app settings hold secrets')
    expect(start).toBeGreaterThan(-1)
    const section = deploymentDoc.slice(start)
    const table = section.slice(0, section.indexOf('\n\n', section.indexOf('| ---')))
    const listed = [...table.matchAll(/^\| `([A-Z_]+)` \|/gm)].map((m) => m[1])
    for (const name of secretSettings) expect(listed, name).toContain(name)
    // The admin's password is in MIGRATION_DATABASE_URL on every app, whatever databaseAuth says.
    expect(deploymentDoc).not.toMatch(/no database password in the app/i)
  })
})
