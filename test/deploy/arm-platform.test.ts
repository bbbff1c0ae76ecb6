import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { loadConfig } from '../../src/config.ts'
import { type ArmValue, evaluate } from '../helpers/arm-expression.ts'

// What App Service does around the three apps' containers, which the service cannot see from
// inside: how long it waits at stop and at start, which resources exist before a container
// first starts, and where the slot's logs go. Limits from Microsoft Learn, "Environment
// variables and app settings in Azure App Service" (reference-app-settings):
// WEBSITES_CONTAINER_STOP_TIME_LIMIT defaults to 5 s, at most 120;
// WEBSITES_CONTAINER_START_TIME_LIMIT defaults to 230 s, between 10 and 1800 on Linux.

interface Resource {
  condition?: string
  type: string
  name: string
  scope?: string
  dependsOn?: string[]
  properties?: Record<string, unknown>
  resources?: Resource[]
}

const template = JSON.parse(
  readFileSync(new URL('../../arm/azuredeploy.json', import.meta.url), 'utf8'),
) as {
  parameters: Record<string, { defaultValue?: unknown }>
  variables: Record<string, unknown>
  resources: Resource[]
}
const parameterFile = JSON.parse(
  readFileSync(new URL('../../arm/azuredeploy.parameters.json', import.meta.url), 'utf8'),
) as { parameters: Record<string, { value: ArmValue }> }
const cd = readFileSync(new URL('../../.github/workflows/cd.yml', import.meta.url), 'utf8')

const scope = (() => {
  const parameters: Record<string, ArmValue> = {}
  for (const [name, { defaultValue }] of Object.entries(template.parameters)) {
    if (typeof defaultValue === 'string' && defaultValue.startsWith('[')) continue
    if (defaultValue !== undefined) parameters[name] = defaultValue as ArmValue
  }
  for (const [name, { value }] of Object.entries(parameterFile.parameters)) parameters[name] = value
  parameters.keyVaultName = 'kv-test' // its default is an expression of resourceGroup()
  return { parameters, variables: template.variables }
})()

const top = template.resources
const apps = top.filter(
  (r) => r.type === 'Microsoft.Web/sites' || r.type === 'Microsoft.Web/sites/slots',
)
/** The app's settings by name, evaluated lazily (most need reference(), which no test answers). */
const settingsOf = (app: Resource) => {
  const list = (
    app.properties as { siteConfig: { appSettings: { name: string; value: string }[] } }
  ).siteConfig.appSettings
  const read = (name: string) => {
    const setting = list.find((s) => s.name === name)
    return setting ? String(evaluate(setting.value, scope)) : undefined
  }
  return {
    WEBSITES_CONTAINER_STOP_TIME_LIMIT: read('WEBSITES_CONTAINER_STOP_TIME_LIMIT'),
    WEBSITES_CONTAINER_START_TIME_LIMIT: read('WEBSITES_CONTAINER_START_TIME_LIMIT'),
    SHUTDOWN_TIMEOUT_MS: read('SHUTDOWN_TIMEOUT_MS'),
  }
}

describe('ARM template: App Service around the containers', () => {
  it('has three apps: the web app, its staging slot and the dispatch app', () => {
    expect(apps.map((a) => evaluate(a.name, scope))).toEqual([
      'orders-web-prod',
      'orders-web-prod/staging',
      'orders-web-prod-dispatch',
    ])
  })

  it('gives every app longer to stop than the service takes to shut down (App Service: 5 s)', () => {
    for (const app of apps) {
      const settings = settingsOf(app)
      const stop = Number(settings.WEBSITES_CONTAINER_STOP_TIME_LIMIT)
      // The service's own bound, whatever the template sets (its default when it sets none).
      const shutdownMs = loadConfig({
        DATABASE_URL: 'postgres://u@h.example.com/o',
        ...(settings.SHUTDOWN_TIMEOUT_MS
          ? { SHUTDOWN_TIMEOUT_MS: settings.SHUTDOWN_TIMEOUT_MS }
          : {}),
      }).SHUTDOWN_TIMEOUT_MS
      expect(Number.isInteger(stop), app.name).toBe(true)
      expect(stop * 1000, app.name).toBeGreaterThan(shutdownMs)
      expect(stop, app.name).toBeLessThanOrEqual(120)
    }
  })

  it('gives every app as long to start, migrations included, as CD waits for /readyz (App Service: 230 s)', () => {
    // CD polls the slot 120 times, 5 s apart: ten minutes.
    expect(cd).toMatch(/for attempt in \$\(seq 1 120\); do[\s\S]*?sleep 5/)
    for (const app of apps) {
      expect(settingsOf(app).WEBSITES_CONTAINER_START_TIME_LIMIT, app.name).toBe('600')
    }
  })

  it('creates the database firewall rule before any app that connects at start', () => {
    const server = top.find((r) => r.type === 'Microsoft.DBforPostgreSQL/flexibleServers')
    const rule = server?.resources?.find((r) => r.type === 'firewallRules')
    const ruleId = evaluate(
      `[resourceId('Microsoft.DBforPostgreSQL/flexibleServers/firewallRules', parameters('postgresServerName'), '${rule?.name}')]`,
      scope,
    )
    for (const app of apps) {
      const ids = (app.dependsOn ?? []).map((d) => evaluate(d, scope))
      expect(ids, String(app.name)).toContain(ruleId)
    }
  })

  it('sends the logs of the web app, its slot and the dispatch app to Log Analytics', () => {
    const settings = top.filter((r) => r.type === 'Microsoft.Insights/diagnosticSettings')
    const scopes = settings.map((s) => evaluate(s.scope, scope))
    expect(scopes).toEqual(
      expect.arrayContaining([
        'Microsoft.Web/sites/orders-web-prod',
        'Microsoft.Web/sites/orders-web-prod/slots/staging',
        'Microsoft.Web/sites/orders-web-prod-dispatch',
      ]),
    )
    const slotSetting = settings.find((s) => String(evaluate(s.scope, scope)).includes('/slots/'))
    expect(slotSetting?.condition).toBeUndefined()
    expect(slotSetting?.dependsOn).toContain("[variables('stagingSlotId')]")
    const categories = (s: Resource | undefined) =>
      ((s?.properties?.logs ?? []) as { category: string }[]).map((l) => l.category)
    expect(categories(slotSetting)).toEqual(categories(settings[0]))
    expect(categories(slotSetting)).toContain('AppServiceConsoleLogs')
  })
})
