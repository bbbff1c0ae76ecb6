import { describe, expect, it } from 'vitest'
import {
  baseArgs,
  fakeArmPerTest,
  metricsToken,
  password,
  runCli,
  subscriptionId,
} from './fake-arm.ts'

// Values the template takes one by one but Azure refuses together, and only mid-deployment: the
// autoscale setting or the PostgreSQL server failed after other resources had been written
// (docs/deployment.md, "Autoscale limits" and "PostgreSQL compute"). Each is refused before a
// credential is created or Azure asked anything.

const autoscale = 'docs/deployment.md, "Autoscale limits"'
const compute = 'docs/deployment.md, "PostgreSQL compute"'

describe('parameters Azure refuses together', () => {
  const fakeArm = fakeArmPerTest()

  it.each([
    [
      'a minimum above the maximum',
      ['autoscaleMinInstances=3', 'autoscaleMaxInstances=2'],
      `autoscaleMinInstances (3) is above autoscaleMaxInstances (2), and Azure's autoscale refuses a minimum above the maximum: set autoscaleMinInstances to 2 or less, or autoscaleMaxInstances to 3 or more (${autoscale}).`,
    ],
    [
      'a default above the maximum (the template default, 3)',
      ['autoscaleDefaultInstances=5'],
      `autoscaleDefaultInstances (5) is above autoscaleMaxInstances (3), and Azure's autoscale refuses a default outside its minimum and maximum: set autoscaleDefaultInstances to between 1 and 3, or autoscaleMaxInstances to 5 or more (${autoscale}).`,
    ],
    [
      "a minimum raised above the parameter file's default of 1",
      ['autoscaleMinInstances=3'],
      `autoscaleDefaultInstances (1) is below autoscaleMinInstances (3), and Azure's autoscale refuses a default outside its minimum and maximum: set autoscaleDefaultInstances to 3, or autoscaleMinInstances to 1 or less (${autoscale}).`,
    ],
    [
      'a General Purpose tier for the default Standard_B1ms',
      ['postgresSkuTier=GeneralPurpose'],
      `postgresSkuTier (GeneralPurpose) does not match postgresSkuName (Standard_B1ms), and Azure Database for PostgreSQL takes Standard_B* sizes only with tier Burstable: set postgresSkuTier to Burstable, or postgresSkuName to a Standard_D* size (${compute}).`,
    ],
    [
      'a Memory Optimized size left on the Burstable tier',
      ['postgresSkuName=Standard_E2ds_v5'],
      `postgresSkuTier (Burstable) does not match postgresSkuName (Standard_E2ds_v5), and Azure Database for PostgreSQL takes Standard_E* sizes only with tier MemoryOptimized: set postgresSkuTier to MemoryOptimized, or postgresSkuName to a Standard_B* size (${compute}).`,
    ],
  ])('refuses %s before any Azure call', async (_, sets, message) => {
    const arm = await fakeArm()
    const result = await runCli([...baseArgs, ...sets.flatMap((set) => ['--set', set])], arm)

    expect(result.err).toEqual([message])
    expect(result.code).toBe(2)
    expect(result.out).toEqual([])
    expect(result.credentialsCreated).toBe(0)
    expect(arm.requests).toEqual([])
  })

  it('never shows a value read from an environment variable, nor what it would tell', async () => {
    const arm = await fakeArm()
    const env = {
      AZURE_SUBSCRIPTION_ID: subscriptionId,
      TEST_PG_PASSWORD: password,
      TEST_METRICS_TOKEN: metricsToken,
      TEST_MIN: '17',
      TEST_SKU: 'Standard_E4ds_v5',
    }
    const fromEnv = (pair: string) => runCli([...baseArgs, '--set-from-env', pair], arm, { env })

    const min = await fromEnv('autoscaleMinInstances=TEST_MIN')
    expect(min.code).toBe(2)
    expect(min.err).toEqual([
      `autoscaleMinInstances (from environment variable TEST_MIN, not shown) is above autoscaleMaxInstances (3), and Azure's autoscale refuses a minimum above the maximum: set autoscaleMinInstances to 3 or less, or autoscaleMaxInstances to autoscaleMinInstances or more (${autoscale}).`,
    ])

    const sku = await fromEnv('postgresSkuName=TEST_SKU')
    expect(sku.code).toBe(2)
    expect(sku.err).toEqual([
      `postgresSkuTier (Burstable) does not match postgresSkuName (from environment variable TEST_SKU, not shown), and Azure Database for PostgreSQL takes Standard_B* sizes only with tier Burstable, Standard_D* only with GeneralPurpose and Standard_E* only with MemoryOptimized: set postgresSkuTier to the tier of the size (${compute}).`,
    ])
    expect(sku.err.join('\n')).not.toContain('E4ds')
    expect(min.credentialsCreated + sku.credentialsCreated).toBe(0)
    expect(arm.requests).toEqual([])
  })

  it.each([
    ['autoscale limits that meet', ['autoscaleMinInstances=2', 'autoscaleDefaultInstances=2']],
    [
      'a size with its own tier',
      ['postgresSkuName=Standard_E2ds_v5', 'postgresSkuTier=MemoryOptimized'],
    ],
    ['General Purpose', ['postgresSkuName=Standard_D2ds_v5', 'postgresSkuTier=GeneralPurpose']],
    // A family the check does not know is Azure's to judge (connection-budget.test.ts too).
    ['a size of another family', ['postgresSkuName=Standard_X9', 'postgresSkuTier=GeneralPurpose']],
  ])('deploys %s', async (_, sets) => {
    const arm = await fakeArm()
    const result = await runCli([...baseArgs, ...sets.flatMap((set) => ['--set', set])], arm)

    expect(result.err).toEqual([])
    expect(result.code).toBe(0)
  })
})
