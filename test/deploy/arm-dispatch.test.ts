import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { ConfigSchema, loadConfig } from '../../src/config.ts'
import { type ArmValue, evaluate } from '../helpers/arm-expression.ts'

// Issue 16's bound, "order placement slows by no more than 10% (dispatcher on vs off)", holds
// only with delivery on CPU of its own (docs/benchmarks.md, stop 14: 0.96 that way, 0.50 with
// the dispatcher in the web process). The template ships that: a dispatch-only app on a plan of
// its own (webhookDelivery=separate, the default), or the single self-delivering web app
// (inWebApp). Conditions and settings are evaluated for given parameters (test/helpers/
// arm-expression.ts), so these tests read what each mode deploys, not how it is spelt.

interface Resource {
  condition?: string
  type: string
  name: string
  scope?: string
  kind?: string
  dependsOn?: string[]
  identity?: unknown
  sku?: Record<string, unknown>
  properties?: Record<string, unknown>
  resources?: Resource[]
}

interface SiteConfig {
  linuxFxVersion: string
  appSettings: { name: string; value: string }[]
  [key: string]: unknown
}

const template = JSON.parse(
  readFileSync(new URL('../../arm/azuredeploy.json', import.meta.url), 'utf8'),
) as {
  parameters: Record<
    string,
    { type?: string; defaultValue?: unknown; allowedValues?: unknown[]; minLength?: number }
  >
  variables: Record<string, unknown>
  resources: Resource[]
  outputs: Record<string, { condition?: string; value: string }>
}

const parameterFile = JSON.parse(
  readFileSync(new URL('../../arm/azuredeploy.parameters.json', import.meta.url), 'utf8'),
) as { parameters: Record<string, { value: ArmValue }> }

/** The template's defaults, the parameters file's values over them, and `set` over those. */
function scopeFor(set: Record<string, ArmValue> = {}) {
  const parameters: Record<string, ArmValue> = {}
  for (const [name, definition] of Object.entries(template.parameters)) {
    const value = definition.defaultValue
    if (typeof value === 'string' && value.startsWith('[')) continue // e.g. resourceGroup()
    if (value !== undefined) parameters[name] = value as ArmValue
  }
  for (const [name, { value }] of Object.entries(parameterFile.parameters)) parameters[name] = value
  Object.assign(parameters, set)
  return { parameters, variables: template.variables }
}

type Flat = Resource & { names: string[] }

/** Every resource, children included, with its full type and its parents' names before its own. */
function flatten(resources: Resource[], parentType = '', parentNames: string[] = []): Flat[] {
  return resources.flatMap((r) => {
    const type = parentType ? `${parentType}/${r.type}` : r.type
    const names = [...parentNames, r.name]
    return [{ ...r, type, names }, ...flatten(r.resources ?? [], type, names)]
  })
}
const all = flatten(template.resources)

/**
 * What ARM would deploy: the resources whose own condition holds (none: always; a child's
 * condition is its own, ARM does not apply the parent's), each as "type/name[/child name]".
 */
function deployed(set: Record<string, ArmValue> = {}) {
  const scope = scopeFor(set)
  return all
    .filter((r) => r.condition === undefined || evaluate(r.condition, scope) === true)
    .map((r) => ({ ...r, id: [r.type, ...r.names.map((n) => evaluate(n, scope))].join('/') }))
}

const siteConfigOf = (r: Resource) => (r.properties as { siteConfig: SiteConfig }).siteConfig
const settingsOf = (r: Resource) =>
  Object.fromEntries(siteConfigOf(r).appSettings.map((s) => [s.name, s.value]))
const one = <T>(items: T[], what: string): T => {
  if (items.length !== 1) throw new Error(`expected one ${what}, found ${items.length}`)
  return items[0] as T
}
const webApp = one(
  all.filter((r) => r.type === 'Microsoft.Web/sites' && r.name === "[parameters('webAppName')]"),
  'web app',
)
const slot = one(
  all.filter((r) => r.type === 'Microsoft.Web/sites/slots'),
  'staging slot',
)
const dispatchApp = one(
  all.filter((r) => r.type === 'Microsoft.Web/sites' && r !== webApp),
  'dispatch app',
)

describe('ARM template: webhook delivery on CPU of its own', () => {
  it('by default deploys a dispatch-only app on a plan of its own; the web app and its slot only serve', () => {
    expect(template.parameters.webhookDelivery).toMatchObject({
      defaultValue: 'separate',
      allowedValues: ['separate', 'inWebApp'],
    })
    const scope = scopeFor()
    const ids = deployed().map((r) => r.id)
    expect(ids).toEqual(
      expect.arrayContaining([
        'Microsoft.Web/serverfarms/orders-plan-prod',
        'Microsoft.Web/serverfarms/orders-plan-prod-dispatch',
        'Microsoft.Web/sites/orders-web-prod',
        'Microsoft.Web/sites/orders-web-prod-dispatch',
        'Microsoft.Web/sites/basicPublishingCredentialsPolicies/orders-web-prod-dispatch/ftp',
        'Microsoft.Web/sites/basicPublishingCredentialsPolicies/orders-web-prod-dispatch/scm',
      ]),
    )
    expect(evaluate(settingsOf(webApp).WEBHOOKS_DISPATCH, scope)).toBe('off')
    expect(evaluate(settingsOf(slot).WEBHOOKS_DISPATCH, scope)).toBe('off')
    expect(evaluate(settingsOf(dispatchApp).WEBHOOKS_DISPATCH, scope)).toBe('only')
    // On a plan of its own, never the web plan (whose instances it would share).
    const dispatchPlan = evaluate(dispatchApp.properties?.serverFarmId, scope)
    expect(dispatchPlan).toBe('Microsoft.Web/serverfarms/orders-plan-prod-dispatch')
    expect(evaluate(webApp.properties?.serverFarmId, scope)).toBe(
      'Microsoft.Web/serverfarms/orders-plan-prod',
    )
    expect(dispatchApp.dependsOn).toContain("[variables('dispatchPlanId')]")
  })

  it('with webhookDelivery=inWebApp deploys no dispatcher resource and the web app delivers itself', () => {
    const scope = scopeFor({ webhookDelivery: 'inWebApp' })
    const ids = deployed({ webhookDelivery: 'inWebApp' }).map((r) => r.id)
    expect(ids.filter((id) => id.includes('dispatch'))).toEqual([])
    // The web app's and its slot's diagnostic settings only (the dispatcher's is conditional too).
    expect(ids.filter((id) => id.startsWith('Microsoft.Insights/diagnosticSettings'))).toHaveLength(
      2,
    )
    expect(evaluate(settingsOf(webApp).WEBHOOKS_DISPATCH, scope)).toBe('on')
    expect(evaluate(settingsOf(slot).WEBHOOKS_DISPATCH, scope)).toBe('on')
    expect(evaluate(template.outputs.dispatchAppName?.value, scope)).toBe('')
    expect(evaluate(template.outputs.dispatchUrl?.condition, scope)).toBe(false)
  })

  it('puts the dispatcher condition on each of its resources: ARM does not cascade it to children', () => {
    const dispatcherOnes = all.filter((r) =>
      [r.name, r.scope, ...(r.dependsOn ?? []), String(r.properties?.serverFarmId)].some(
        (text) =>
          typeof text === 'string' && /dispatch(SiteName|SiteId|PlanName|PlanId)/.test(text),
      ),
    )
    // The plan, the app, its two publishing-credential policies, its diagnostic setting.
    expect(dispatcherOnes).toHaveLength(5)
    for (const r of dispatcherOnes)
      expect(r.condition, r.type).toBe("[variables('separateDelivery')]")
  })

  it('every value of WEBHOOKS_DISPATCH the template sets is one the service accepts', () => {
    for (const mode of template.parameters.webhookDelivery?.allowedValues ?? []) {
      const scope = scopeFor({ webhookDelivery: mode as string })
      for (const app of [webApp, slot, dispatchApp]) {
        const value = String(evaluate(settingsOf(app).WEBHOOKS_DISPATCH, scope))
        const env = { WEBHOOKS_DISPATCH: value, DATABASE_URL: 'postgres://u@h.example.com/o' }
        expect(loadConfig(env).WEBHOOKS_DISPATCH).toBe(value)
      }
    }
  })

  it('names the dispatch app <webAppName>-dispatch unless dispatchAppName says otherwise', () => {
    const name = (set: Record<string, ArmValue>) => evaluate(dispatchApp.name, scopeFor(set))
    expect(name({})).toBe('orders-web-prod-dispatch')
    expect(name({ dispatchAppName: 'acme-delivery' })).toBe('acme-delivery')
    expect(evaluate(template.outputs.dispatchAppName?.value, scopeFor())).toBe(
      'orders-web-prod-dispatch',
    )
    expect(evaluate(template.outputs.dispatchUrl?.condition, scopeFor())).toBe(true)
    expect(template.outputs.dispatchUrl?.value).toContain("reference(variables('dispatchSiteId')")
  })

  it('runs the dispatcher as the web app runs: same image as production, identity, database, telemetry, hardening', () => {
    const web = siteConfigOf(webApp)
    const dispatch = siteConfigOf(dispatchApp)
    // Production's image, not the staging slot's: a release reaches the dispatcher through CD
    // (after the slot is ready), as it reaches production through the swap.
    expect(dispatch.linuxFxVersion).toBe(web.linuxFxVersion)
    const { linuxFxVersion: _w, appSettings: _ws, ...webConfig } = web
    const { linuxFxVersion: _d, appSettings: _ds, ...dispatchConfig } = dispatch
    expect(dispatchConfig).toEqual(webConfig)
    expect(dispatchConfig).toMatchObject({ healthCheckPath: '/healthz', alwaysOn: true })
    expect(dispatchApp.identity).toEqual(webApp.identity)
    expect(dispatchApp.properties?.httpsOnly).toBe(true)

    const webSettings = settingsOf(webApp)
    const dispatchSettings = settingsOf(dispatchApp)
    const differences = Object.keys({ ...webSettings, ...dispatchSettings })
      .filter((name) => webSettings[name] !== dispatchSettings[name])
      .sort()
    expect(differences).toEqual([
      // Its own role name in Application Insights.
      'OTEL_SERVICE_NAME',
      'WEBHOOKS_DISPATCH',
      // No slot, no swap.
      'WEBSITE_SWAP_WARMUP_PING_PATH',
      'WEBSITE_SWAP_WARMUP_PING_STATUSES',
      // One worker: more instances (dispatchPlanInstanceCount), not more workers, add delivery.
      'WEB_CONCURRENCY',
    ])
    expect(dispatchSettings.OTEL_SERVICE_NAME).toBe('order-service-dispatch')
    expect(dispatchSettings.WEB_CONCURRENCY).toBeUndefined()
  })

  it('sizes the dispatch plan by parameters of its own; autoscale scales the web plan only', () => {
    const scope = scopeFor()
    const dispatchPlan = one(
      deployed().filter((r) => r.id === 'Microsoft.Web/serverfarms/orders-plan-prod-dispatch'),
      'dispatch plan',
    )
    expect(dispatchPlan.sku).toEqual({
      name: "[parameters('dispatchPlanSku')]",
      capacity: "[parameters('dispatchPlanInstanceCount')]",
    })
    expect(dispatchPlan.kind).toBe('linux')
    expect(template.parameters.dispatchPlanSku?.defaultValue).toBe('B1')
    expect(template.parameters.dispatchPlanInstanceCount?.defaultValue).toBe(1)
    const autoscale = one(
      all.filter((r) => r.type === 'Microsoft.Insights/autoscalesettings'),
      'autoscale setting',
    )
    expect(evaluate(autoscale.properties?.targetResourceUri, scope)).toBe(
      'Microsoft.Web/serverfarms/orders-plan-prod',
    )
    expect(JSON.stringify(autoscale)).not.toContain('dispatch')
  })

  it('gives the dispatcher no slot: a swap of the web app leaves it running', () => {
    expect(all.filter((r) => r.type === 'Microsoft.Web/sites/slots')).toEqual([slot])
    expect(slot.name).toContain("parameters('webAppName')")
  })
})

// /metrics tells anyone who asks the order counts, the webhook and e-mail backlog and the heap;
// every app the template deploys answers it on the internet. So each one (the web app, its
// slot, the dispatch app) gets METRICS_TOKEN from the one securestring parameter, which has no
// default: a deployment without a token fails validation rather than going out public.
describe('ARM template: /metrics is private on every app', () => {
  const token = 'a-metrics-token-of-32-characters'

  it('sets METRICS_TOKEN from metricsToken on each app it deploys, in either delivery mode', () => {
    for (const mode of template.parameters.webhookDelivery?.allowedValues ?? []) {
      const set = { webhookDelivery: mode as string, metricsToken: token }
      const scope = scopeFor(set)
      const sites = deployed(set).filter(
        (r) => r.type === 'Microsoft.Web/sites' || r.type === 'Microsoft.Web/sites/slots',
      )
      expect(sites.map((r) => r.id).sort(), String(mode)).toEqual(
        [
          'Microsoft.Web/sites/orders-web-prod',
          'Microsoft.Web/sites/slots/orders-web-prod/staging',
          ...(mode === 'separate' ? ['Microsoft.Web/sites/orders-web-prod-dispatch'] : []),
        ].sort(),
      )
      for (const site of sites) {
        const env = Object.fromEntries(
          siteConfigOf(site)
            .appSettings.filter((s) => s.name === 'METRICS_TOKEN')
            .map((s) => [s.name, String(evaluate(s.value, scope))]),
        )
        expect(env, site.id).toEqual({ METRICS_TOKEN: token })
        expect(loadConfig(env).METRICS_TOKEN, site.id).toBe(token)
      }
    }
  })

  it('requires the token (securestring, no default) at the length the service requires', () => {
    const parameter = template.parameters.metricsToken
    expect(parameter).toMatchObject({ type: 'securestring' })
    expect(parameter).not.toHaveProperty('defaultValue')
    expect(parameterFile.parameters).not.toHaveProperty('metricsToken')
    const serviceMinimum = (ConfigSchema.properties.METRICS_TOKEN as { minLength?: number })
      .minLength
    expect(serviceMinimum).toBe(16)
    expect(parameter?.minLength).toBe(serviceMinimum)
    expect(() => loadConfig({ METRICS_TOKEN: 'x'.repeat(Number(serviceMinimum) - 1) })).toThrow()
  })
})
