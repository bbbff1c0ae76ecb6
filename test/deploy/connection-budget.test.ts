import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { connectionBudget } from '../../scripts/deploy/connection-budget.ts'
import { loadParameterFile } from '../../scripts/deploy/parameters.ts'
import { loadTemplate } from '../../scripts/deploy/template.ts'
import { baseArgs, fakeArmPerTest, parametersFile, root, runCli } from './fake-arm.ts'

// The apps' database connections at the autoscale maximum against what the PostgreSQL SKU takes
// (docs/deployment.md, "Database connections").

const templateFile = `${root}/arm/azuredeploy.json`

describe('the database connection budget', () => {
  const fakeArm = fakeArmPerTest()

  it("the template's defaults fit Standard_B1ms at the autoscale maximum", async () => {
    const template = await loadTemplate(templateFile)
    const budget = connectionBudget(template, await loadParameterFile(parametersFile))
    // 3 instances × 2 slots × 1 worker + 1 dispatcher = 7 processes, each with its own pool.
    expect(budget).toMatchObject({
      sku: 'Standard_B1ms',
      limit: 35,
      processes: 7,
      poolSize: 4,
      placers: 0,
    })
    expect(budget.connections).toBe(29)
    expect(budget.connections).toBeLessThanOrEqual(35)
  })

  it("every app gets the pool size as DATABASE_POOL_SIZE, the service's default (10) not used", () => {
    const template = JSON.parse(readFileSync(templateFile, 'utf8')) as {
      resources: { type: string; properties: { siteConfig: { appSettings: unknown[] } } }[]
    }
    const apps = template.resources.filter((r) => r.type.startsWith('Microsoft.Web/sites'))
    expect(apps).toHaveLength(3)
    for (const app of apps) {
      expect(app.properties.siteConfig.appSettings).toContainEqual({
        name: 'DATABASE_POOL_SIZE',
        value: "[string(parameters('databasePoolSize'))]",
      })
    }
  })

  it('stops a deployment that can open more connections than the server takes, before any Azure call', async () => {
    const arm = await fakeArm()
    const result = await runCli([...baseArgs, '--set', 'databasePoolSize=10'], arm)

    expect(result.code).toBe(2)
    expect(result.err).toEqual([
      'PostgreSQL Standard_B1ms takes 35 connections, and at the autoscale maximum the apps of this deployment can open 71: (3 instances × 2 slots × 1 worker + 1 dispatcher) × databasePoolSize 10 + 1 for a migration. Past 35, new connections are refused and requests fail. Set databasePoolSize to 4 or less, or lower autoscaleMaxInstances, or choose a larger postgresSkuName (docs/deployment.md, "Database connections").',
    ])
    expect(arm.requests).toEqual([])
  })

  it('counts the web workers of each instance and leaves out the dispatch app with inWebApp', async () => {
    const arm = await fakeArm()
    const args = ['--set', 'webConcurrency=2', '--set', 'webhookDelivery=inWebApp']
    const result = await runCli([...baseArgs, ...args], arm)

    expect(result.code).toBe(2)
    expect(result.err[0]).toContain(
      'can open 55: (3 instances × 2 slots × 2 workers) × databasePoolSize 4 + 6 for the primaries placing orders + 1 for a migration.',
    )
    expect(result.err[0]).toContain('Set databasePoolSize to 2 or less')
  })

  it('deploys when a larger SKU takes them, and says so when it knows no limit for the SKU', async () => {
    const arm = await fakeArm()
    const larger = await runCli(
      [
        ...baseArgs,
        ...['--set', 'postgresSkuName=Standard_D2ds_v5', '--set', 'postgresSkuTier=GeneralPurpose'],
        ...['--set', 'databasePoolSize=10'],
      ],
      arm,
    )
    expect(larger.code).toBe(0)
    expect(larger.out.join('\n')).not.toContain('connections')

    const unknown = await runCli([...baseArgs, '--set', 'postgresSkuName=Standard_X9'], arm)
    expect(unknown.code).toBe(0)
    expect(unknown.out).toContain(
      'Database connections not checked: no connection limit known for postgresSkuName Standard_X9; the apps can open 29: (3 instances × 2 slots × 1 worker + 1 dispatcher) × databasePoolSize 4 + 1 for a migration.',
    )
  })
})
