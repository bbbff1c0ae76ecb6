import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { loadConfig } from '../../src/config.ts'

interface ArmResource {
  type: string
  apiVersion?: string
  name: string
  properties?: Record<string, unknown>
  resources?: ArmResource[]
  [key: string]: unknown
}

interface AppSetting {
  name: string
  value: string
}

interface ArmTemplate {
  parameters: Record<string, { type: string; defaultValue?: unknown }>
  variables: Record<string, unknown>
  resources: ArmResource[]
  outputs: Record<string, { type: string; value: unknown }>
}

const templateText = readFileSync(new URL('../../arm/azuredeploy.json', import.meta.url), 'utf8')
const parametersText = readFileSync(
  new URL('../../arm/azuredeploy.parameters.json', import.meta.url),
  'utf8',
)
const template = JSON.parse(templateText) as ArmTemplate

/** Every resource, child resources included, with its full type (parent/child). */
function allResources(resources: ArmResource[], parentType = ''): ArmResource[] {
  return resources.flatMap((resource) => {
    const type = parentType ? `${parentType}/${resource.type}` : resource.type
    return [{ ...resource, type }, ...allResources(resource.resources ?? [], type)]
  })
}

function referenced(kind: 'parameters' | 'variables'): Set<string> {
  return new Set(
    [...templateText.matchAll(new RegExp(`${kind}\\('([^']+)'\\)`, 'g'))].map((m) => m[1] ?? ''),
  )
}

const resources = allResources(template.resources)
const byType = (type: string) => resources.filter((r) => r.type === type)
const the = (type: string): ArmResource => {
  const [resource, ...others] = byType(type)
  if (!resource || others.length > 0) throw new Error(`expected exactly one ${type}`)
  return resource
}
/** The web app (the other site is the dispatch-only app: test/deploy/arm-dispatch.test.ts). */
const webApp = (): ArmResource => {
  const [site, ...others] = byType('Microsoft.Web/sites').filter(
    (r) => r.name === "[parameters('webAppName')]",
  )
  if (!site || others.length > 0) throw new Error('expected exactly one web app')
  return site
}

describe('arm/azuredeploy.json', () => {
  it('is valid JSON with the deployment template schema', () => {
    expect(() => JSON.parse(templateText)).not.toThrow()
    expect(JSON.parse(templateText).$schema).toBe(
      'https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#',
    )
  })

  it('declares every parameter it references and references every one it declares', () => {
    const declared = Object.keys(template.parameters).sort()
    expect([...referenced('parameters')].sort()).toEqual(declared)
  })

  it('declares every variable it references and references every one it declares', () => {
    const declared = Object.keys(template.variables).sort()
    expect([...referenced('variables')].sort()).toEqual(declared)
  })

  it('gives every resource, nested ones included, an apiVersion', () => {
    expect(resources.length).toBeGreaterThan(template.resources.length)
    for (const resource of resources) {
      expect(resource.apiVersion, resource.type).toMatch(/^\d{4}-\d{2}-\d{2}(-preview)?$/)
    }
  })

  it('keeps the names the deploy tooling relies on', () => {
    for (const name of ['webAppName', 'appServicePlanName', 'location', 'dockerImage']) {
      expect(template.parameters).toHaveProperty(name)
    }
  })

  it('makes password-like parameters securestring without a default', () => {
    // secretsInKeyVault and keyVaultName say where the secrets go; they hold none.
    const secretLike = Object.entries(template.parameters).filter(
      ([name]) =>
        /password|secret|key|token/i.test(name) &&
        !['secretsInKeyVault', 'keyVaultName'].includes(name),
    )
    expect(secretLike.map(([name]) => name)).toEqual(
      expect.arrayContaining(['postgresAdminPassword', 'metricsToken']),
    )
    for (const [name, definition] of secretLike) {
      expect(definition.type, name).toBe('securestring')
      expect(definition, name).not.toHaveProperty('defaultValue')
    }
    expect(template.parameters.postgresAdminLogin?.type).toBe('securestring')
  })

  it("opens the database firewall to Azure's addresses only, and says they are every Azure customer's", () => {
    const rules = byType('Microsoft.DBforPostgreSQL/flexibleServers/firewallRules')
    expect(rules).toHaveLength(1)
    for (const rule of rules) {
      expect(rule.properties).toEqual({ startIpAddress: '0.0.0.0', endIpAddress: '0.0.0.0' })
      // "Allow Azure services" admits other customers' resources too: nothing may read as if
      // it admitted this deployment's apps alone.
      expect(rule.comments).toMatch(/other customers' subscriptions included/)
    }
    expect(templateText).not.toContain('255.255.255.255')
    const docs = readFileSync(new URL('../../docs/deployment.md', import.meta.url), 'utf8')
    expect(docs).toContain("including other Azure customers' apps and VMs")
    expect(docs).not.toMatch(/Azure services only/)
  })

  it('runs a current PostgreSQL Flexible Server with a database', () => {
    const server = the('Microsoft.DBforPostgreSQL/flexibleServers')
    expect(server.apiVersion).toBe('2024-08-01')
    expect(template.parameters.postgresVersion?.defaultValue).toMatch(/^1[67]$/)
    expect(byType('Microsoft.DBforPostgreSQL/flexibleServers/databases')).toHaveLength(1)
  })

  it('hardens the web app and points it at the image and health endpoint', () => {
    const site = webApp()
    const properties = site.properties as {
      httpsOnly: boolean
      siteConfig: Record<string, unknown> & { appSettings: { name: string; value: string }[] }
    }
    expect(properties.httpsOnly).toBe(true)
    expect(properties.siteConfig).toMatchObject({
      linuxFxVersion: "[format('DOCKER|{0}', parameters('dockerImage'))]",
      healthCheckPath: '/healthz',
      minTlsVersion: '1.2',
      ftpsState: 'Disabled',
    })
    const settings = Object.fromEntries(
      properties.siteConfig.appSettings.map((s) => [s.name, s.value]),
    )
    expect(settings.WEBSITES_PORT).toBe("[variables('containerPort')]")
    expect(template.variables.containerPort).toBe('3000')
    expect(settings.NODE_ENV).toBe('production')
    expect(settings.DATABASE_URL).toContain("uriComponent(parameters('postgresAdminPassword'))")
    expect(settings.DATABASE_URL).toContain('fullyQualifiedDomainName')
    expect(settings.DATABASE_URL).toContain('sslmode=verify-full')
    expect(settings.APPLICATIONINSIGHTS_CONNECTION_STRING).toContain('ConnectionString')
    // App settings are strings; one worker per vCPU is the operator's choice.
    expect(settings.WEB_CONCURRENCY).toBe("[string(parameters('webConcurrency'))]")
    expect(template.parameters.webConcurrency).toMatchObject({ type: 'int', defaultValue: 1 })
  })

  it("trusts exactly the one hop of App Service's front end for the client address", () => {
    // Without TRUST_PROXY every request comes from the front end's address, so all clients
    // share one rate-limit budget. The front end appends one X-Forwarded-For entry: trust 1 hop.
    const site = webApp()
    const { appSettings } = (site.properties as { siteConfig: { appSettings: AppSetting[] } })
      .siteConfig
    const trust = appSettings.filter((s) => s.name === 'TRUST_PROXY')
    expect(trust).toHaveLength(1)
    expect(trust[0]?.value).toBe("[parameters('trustProxy')]")
    expect(template.parameters.trustProxy).toMatchObject({ type: 'string', defaultValue: '1' })
    // The value must be one the app accepts, or the app would refuse to start on Azure.
    const defaultValue = String(template.parameters.trustProxy?.defaultValue)
    expect(() => loadConfig({ TRUST_PROXY: defaultValue })).not.toThrow()
    expect(loadConfig({ TRUST_PROXY: defaultValue }).TRUST_PROXY).toBe('1')
  })

  it('autoscales the plan on CPU within the instance parameters', () => {
    const autoscale = the('Microsoft.Insights/autoscalesettings')
    const text = JSON.stringify(autoscale)
    expect(text).toContain('CpuPercentage')
    for (const name of [
      'autoscaleMinInstances',
      'autoscaleMaxInstances',
      'autoscaleDefaultInstances',
    ]) {
      expect(text).toContain(`parameters('${name}')`)
    }
  })

  it('sends telemetry to workspace-based Application Insights', () => {
    the('Microsoft.OperationalInsights/workspaces')
    const insights = the('Microsoft.Insights/components')
    expect(insights.properties).toMatchObject({ WorkspaceResourceId: "[variables('workspaceId')]" })
  })

  it('has a staging slot configured like production, where a release is warmed before the swap', () => {
    const site = webApp()
    const slot = the('Microsoft.Web/sites/slots')
    type SiteProperties = {
      serverFarmId: string
      httpsOnly: boolean
      siteConfig: Record<string, unknown> & { appSettings: AppSetting[]; linuxFxVersion: string }
    }
    const production = site.properties as SiteProperties
    const staging = slot.properties as SiteProperties
    expect(slot.name).toBe(
      "[format('{0}/{1}', parameters('webAppName'), variables('stagingSlotName'))]",
    )
    expect(template.variables.stagingSlotName).toBe('staging')
    expect(slot.dependsOn).toContain("[variables('siteId')]")
    // A swap moves the slot's settings into production: any difference would change production
    // (and restart it) at the swap. Same list, same values, so the swap only moves traffic.
    expect(staging.siteConfig.appSettings).toEqual(production.siteConfig.appSettings)
    const { linuxFxVersion: _p, appSettings: _a, ...productionConfig } = production.siteConfig
    const { linuxFxVersion, appSettings: _b, ...stagingConfig } = staging.siteConfig
    expect(stagingConfig).toEqual(productionConfig)
    expect(staging.httpsOnly).toBe(true)
    expect(staging.serverFarmId).toBe(production.serverFarmId)
    // Identities do not move with a swap: each slot signs in as its own. The slot needs the
    // same one as production (a user-assigned identity attached to both is the simple way;
    // system-assigned ones are two principals, each needing its own database role).
    expect(slot.identity).toEqual(site.identity)
    // The release goes to the slot; production keeps what it runs until the swap.
    expect(linuxFxVersion).toContain("parameters('stagingDockerImage')")
    expect(production.siteConfig.linuxFxVersion).not.toContain('stagingDockerImage')
    expect(template.parameters.stagingDockerImage).toMatchObject({
      type: 'string',
      defaultValue: '',
    })
    // The swap itself waits until the slot's instances answer 200 on /readyz (App Service's
    // swap warm-up), on top of the check CD makes before it starts the swap.
    const settings = Object.fromEntries(
      staging.siteConfig.appSettings.map((s) => [s.name, s.value]),
    )
    expect(settings.WEBSITE_SWAP_WARMUP_PING_PATH).toBe('/readyz')
    expect(settings.WEBSITE_SWAP_WARMUP_PING_STATUSES).toBe('200')
    // Basic publishing credentials are off on the slot too.
    const policies = byType('Microsoft.Web/sites/slots/basicPublishingCredentialsPolicies')
    expect(policies.map((p) => [p.name, p.properties])).toEqual([
      ['ftp', { allow: false }],
      ['scm', { allow: false }],
    ])
  })

  it("outputs the site URL, the staging slot URL, the database host and the dispatch app's name and URL", () => {
    expect(Object.keys(template.outputs).sort()).toEqual([
      'databaseHost',
      'dispatchAppName',
      'dispatchUrl',
      'siteUrl',
      'stagingUrl',
    ])
  })
})

describe('arm/azuredeploy.parameters.json', () => {
  const file = JSON.parse(parametersText) as { parameters: Record<string, unknown> }

  it('only names parameters the template declares', () => {
    for (const name of Object.keys(file.parameters)) {
      expect(template.parameters, name).toHaveProperty(name)
    }
  })

  it('carries no secrets', () => {
    expect(file.parameters).not.toHaveProperty('postgresAdminPassword')
    expect(file.parameters).not.toHaveProperty('metricsToken')
    expect(parametersText).not.toMatch(/password/i)
  })
})
