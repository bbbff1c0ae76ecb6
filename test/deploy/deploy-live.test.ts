import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import {
  baseArgs,
  baseArgsWithoutImage,
  deploymentPath,
  type FakeArm,
  fakeArmPerTest,
  groupPath,
  parametersFile,
  runCli,
  slotConfigId,
  webConfigId,
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

describe('a re-deployment keeps the images the web app and its slot run', () => {
  const fakeArm = fakeArmPerTest()
  const production = 'ghcr.io/acme/os:sha-live'
  const staging = 'ghcr.io/acme/os:sha-previous'

  it("deploys production's image and the slot's, not the parameters file's, saying so", async () => {
    const arm = await fakeArm({ running: { production, staging } })
    const result = await runCli(baseArgsWithoutImage, arm)

    expect(result.err).toEqual([])
    expect(result.code).toBe(0)
    // The file's placeholder stands for any stale image a laptop's copy may hold.
    expect(sentParameters(arm).dockerImage).toEqual({ value: production })
    // The slot keeps the release a swap rolls back to, not "empty: dockerImage".
    expect(sentParameters(arm).stagingDockerImage).toEqual({ value: staging })
    expect(result.out).toContain(
      `dockerImage: ${production} (kept from production: web app orders-web-prod runs it; --set dockerImage=… deploys another).`,
    )
    expect(result.out).toContain(
      `stagingDockerImage: ${staging} (kept from the staging slot: staging slot orders-web-prod/staging runs it; --set stagingDockerImage=… deploys another).`,
    )
    const routes = arm.routes().map((route) => route.toLowerCase())
    expect(routes.indexOf(`get ${webConfigId}`.toLowerCase())).toBeGreaterThan(-1)
    expect(routes.indexOf(`get ${webConfigId}`.toLowerCase())).toBeLessThan(
      routes.indexOf(`post ${deploymentPath}/validate`.toLowerCase()),
    )
  })

  it('what-if asks with the same images', async () => {
    const arm = await fakeArm({ running: { production, staging } })
    const result = await runCli([...baseArgsWithoutImage, '--what-if'], arm)

    expect(result.code).toBe(0)
    const sent = sentParameters(arm, `${deploymentPath}/whatIf`)
    expect(sent.dockerImage).toEqual({ value: production })
    expect(sent.stagingDockerImage).toEqual({ value: staging })
  })

  it('deploys an image given on the command line', async () => {
    const arm = await fakeArm({ running: { production, staging } })
    const result = await runCli(
      [...baseArgs, '--set', 'stagingDockerImage=ghcr.io/acme/os:sha-next'],
      arm,
    )

    expect(result.code).toBe(0)
    expect(sentParameters(arm).dockerImage).toEqual({ value: 'ghcr.io/acme/os:abc' })
    expect(sentParameters(arm).stagingDockerImage).toEqual({ value: 'ghcr.io/acme/os:sha-next' })
    expect(result.out).toContain('dockerImage: ghcr.io/acme/os:abc (given on the command line).')
    expect(result.out).toContain(
      'stagingDockerImage: ghcr.io/acme/os:sha-next (given on the command line).',
    )
  })

  it("deploys the parameters file's real image on a first deployment", async () => {
    const dir = await mkdtemp(join(tmpdir(), 'deploy-live-'))
    const file = JSON.parse(await readFile(parametersFile, 'utf8'))
    file.parameters.dockerImage.value = 'ghcr.io/acme/os:sha-first'
    await writeFile(join(dir, 'parameters.json'), JSON.stringify(file))
    const args = baseArgsWithoutImage.map((arg) =>
      arg === parametersFile ? join(dir, 'parameters.json') : arg,
    )
    const arm = await fakeArm()
    const result = await runCli(args, arm)
    await rm(dir, { recursive: true, force: true })

    expect(result.err).toEqual([])
    expect(result.code).toBe(0)
    expect(sentParameters(arm).dockerImage).toEqual({ value: 'ghcr.io/acme/os:sha-first' })
    expect(result.out).toContain(
      'dockerImage: ghcr.io/acme/os:sha-first (from the parameters file: production does not exist yet).',
    )
  })

  /** The command's arguments with a parameters file that has no dockerImage at all. */
  async function withoutImageInFile(): Promise<{ args: string[]; done: () => Promise<void> }> {
    const dir = await mkdtemp(join(tmpdir(), 'deploy-live-'))
    const file = JSON.parse(await readFile(parametersFile, 'utf8'))
    delete file.parameters.dockerImage
    await writeFile(join(dir, 'parameters.json'), JSON.stringify(file))
    const args = baseArgsWithoutImage.map((arg) =>
      arg === parametersFile ? join(dir, 'parameters.json') : arg,
    )
    return { args, done: () => rm(dir, { recursive: true, force: true }) }
  }

  it('takes a parameters file without dockerImage once production exists, keeping its image', async () => {
    const { args, done } = await withoutImageInFile()
    try {
      for (const whatIf of [false, true]) {
        const arm = await fakeArm({ running: { production, staging } })
        const result = await runCli(whatIf ? [...args, '--what-if'] : args, arm)

        expect(result.err).toEqual([])
        expect(result.code).toBe(0)
        const path = whatIf ? `${deploymentPath}/whatIf` : deploymentPath
        expect(sentParameters(arm, path).dockerImage).toEqual({ value: production })
        expect(result.out).toContain(
          `dockerImage: ${production} (kept from production: web app orders-web-prod runs it, and no dockerImage was given; --set dockerImage=… deploys another).`,
        )
      }
    } finally {
      await done()
    }
  })

  it('refuses a parameters file without dockerImage on a first deployment, in one line', async () => {
    const { args, done } = await withoutImageInFile()
    try {
      const arm = await fakeArm()
      const result = await runCli(args, arm)

      expect(result.code).toBe(2)
      expect(result.err).toEqual([
        'A first deployment needs dockerImage: production does not exist yet, so there is no image to keep. Pass --set dockerImage=ghcr.io/<owner>/<repo>:sha-<commit> (or give dockerImage in the parameters file).',
      ])
      // Known only once the web app was found missing; nothing validated nor deployed.
      expect(
        arm.routes().filter((route) => !route.startsWith('GET') && !route.startsWith('HEAD')),
      ).toEqual([])
    } finally {
      await done()
    }
  })

  it('stops before deploying when the web app cannot be read, rather than replacing its image', async () => {
    const arm = await fakeArm({ existing: { [webConfigId]: 403 } })
    const result = await runCli(baseArgsWithoutImage, arm)

    expect(result.code).toBe(1)
    expect(result.err).toHaveLength(1)
    expect(result.err[0]).toMatch(
      /^Could not read web app orders-web-prod \(HTTP 403\), whose image a deployment must keep: AuthorizationFailed/,
    )
    expect(arm.routes().filter((route) => route.startsWith('PUT'))).toEqual([])
  })

  it('stops when the slot runs no container image, asking for one', async () => {
    const arm = await fakeArm({
      running: { production },
      existing: { [slotConfigId]: { properties: { linuxFxVersion: 'NODE|24-lts' } } },
    })
    const result = await runCli(baseArgsWithoutImage, arm)

    expect(result.code).toBe(2)
    expect(result.err).toEqual([
      'staging slot orders-web-prod/staging runs no container image (linuxFxVersion "NODE|24-lts"), so there is none to keep: pass the image to run with --set stagingDockerImage=ghcr.io/<owner>/<repo>:sha-<commit>.',
    ])
    expect(arm.routes().filter((route) => route.startsWith('PUT'))).toEqual([])
  })
})
