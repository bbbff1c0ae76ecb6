import { describe, expect, it } from 'vitest'
import {
  baseArgs,
  deploymentPath,
  type FakeArm,
  fakeArmPerTest,
  groupPath,
  runCli,
} from './fake-arm.ts'

// What a re-deployment must not undo: sizes Azure changed after the deployment that created
// them (docs/deployment.md, "Rolling a release out, and back": "What a deployment keeps").

const planId = `${groupPath}/providers/Microsoft.Web/serverfarms/orders-plan-prod`
const serverId = `${groupPath}/providers/Microsoft.DBforPostgreSQL/flexibleServers/orders-pg-prod`
const server = (storageSizeGB: number) => ({
  id: serverId,
  properties: { storage: { storageSizeGB, autoGrow: 'Enabled' } },
})

type Parameters = Record<string, { value: unknown }>

/** The parameters of the deployment PUT (or of the what-if POST). */
function sentParameters(arm: FakeArm, path = deploymentPath): Parameters {
  const request = arm.requests.find((r) => r.method !== 'GET' && r.path === path)
  if (!request) throw new Error(`no request to ${path}`)
  return (request.body as { properties: { parameters: Parameters } }).properties.parameters
}

describe('a re-deployment keeps what autoscale and Azure changed', () => {
  const fakeArm = fakeArmPerTest()

  it("deploys the web plan with the instance count it runs (autoscale's), not appServicePlanInstanceCount", async () => {
    const arm = await fakeArm({
      existing: { [planId]: { id: planId, sku: { name: 'P0v3', capacity: 3 } } },
    })
    const result = await runCli(baseArgs, arm)

    expect(result.err).toEqual([])
    expect(result.code).toBe(0)
    // The parameters file says 1: that is the count of a new plan only.
    expect(sentParameters(arm).appServicePlanInstanceCount).toEqual({ value: 3 })
    expect(result.out).toContain(
      'App Service plan orders-plan-prod runs 3 instances: deploying it with 3, not appServicePlanInstanceCount=1 (autoscale owns the count once the plan exists).',
    )
    // Read before ARM validates, so validation and the deployment see the same value.
    const routes = arm.routes().map((route) => route.toLowerCase())
    expect(routes.indexOf(`get ${planId}`.toLowerCase())).toBeGreaterThan(-1)
    expect(routes.indexOf(`get ${planId}`.toLowerCase())).toBeLessThan(
      routes.indexOf(`post ${deploymentPath}/validate`.toLowerCase()),
    )
  })

  it('what-if asks with the same count, so it shows no change of the plan', async () => {
    const arm = await fakeArm({
      existing: { [planId]: { id: planId, sku: { name: 'P0v3', capacity: 2 } } },
    })
    const result = await runCli([...baseArgs, '--what-if'], arm)

    expect(result.code).toBe(0)
    expect(sentParameters(arm, `${deploymentPath}/whatIf`).appServicePlanInstanceCount).toEqual({
      value: 2,
    })
  })

  it('a new plan starts with appServicePlanInstanceCount', async () => {
    const arm = await fakeArm()
    const result = await runCli([...baseArgs, '--set', 'appServicePlanInstanceCount=2'], arm)

    expect(result.code).toBe(0)
    expect(sentParameters(arm).appServicePlanInstanceCount).toEqual({ value: 2 })
    expect(result.out.join('\n')).not.toContain('runs')
  })

  it('stops before deploying when the plan cannot be read, rather than resetting its count', async () => {
    const arm = await fakeArm({ existing: { [planId]: 403 } })
    const result = await runCli(baseArgs, arm)

    expect(result.code).toBe(1)
    expect(result.err).toHaveLength(1)
    expect(result.err[0]).toMatch(
      /^Could not read App Service plan orders-plan-prod \(HTTP 403\), whose instance count a deployment must keep: AuthorizationFailed/,
    )
    expect(arm.routes().filter((route) => route.startsWith('PUT'))).toEqual([])
  })

  it('never asks PostgreSQL for less storage than auto-grow gave it (Flexible Server cannot shrink)', async () => {
    const arm = await fakeArm({ existing: { [serverId]: server(128) } })
    const result = await runCli(baseArgs, arm)

    expect(result.err).toEqual([])
    expect(result.code).toBe(0)
    // The parameters file says 32.
    expect(sentParameters(arm).postgresStorageSizeGB).toEqual({ value: 128 })
    expect(result.out).toContain(
      'PostgreSQL server orders-pg-prod has 128 GB of storage: deploying it with 128, not postgresStorageSizeGB=32 (storage grows, by auto-grow or by hand, and never shrinks).',
    )
  })

  it('still grows the storage when asked for more than the server has', async () => {
    const arm = await fakeArm({ existing: { [serverId]: server(64) } })
    const result = await runCli([...baseArgs, '--set', 'postgresStorageSizeGB=256'], arm)

    expect(result.code).toBe(0)
    expect(sentParameters(arm).postgresStorageSizeGB).toEqual({ value: 256 })
    expect(result.out.join('\n')).not.toContain('GB of storage')
  })
})
