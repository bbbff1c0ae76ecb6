import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { placeholderImagePrefix } from '../../scripts/deploy/image.ts'
import {
  baseArgs,
  baseArgsWithoutImage,
  fakeArmPerTest,
  parametersFile,
  runCli,
} from './fake-arm.ts'

// The parameters file's dockerImage is a placeholder: `npm run deploy` with that file and no
// --set dockerImage=… pointed production, its slot and the dispatch app at an image no registry
// holds. Now a run without it keeps the image production runs (deploy-live.test.ts), and the
// placeholder is refused when it would be deployed: given on the command line, or on a first
// deployment, when there is no production to keep the image of.

const fileImage = (
  JSON.parse(readFileSync(parametersFile, 'utf8')) as {
    parameters: { dockerImage: { value: string } }
  }
).parameters.dockerImage.value

describe('deploy command: the placeholder image', () => {
  const fakeArm = fakeArmPerTest()

  it('holds the parameters file to the placeholder the check knows', () => {
    expect(fileImage.startsWith(placeholderImagePrefix)).toBe(true)
  })

  it('refuses the parameters file as it comes on a first deployment (no web app), saying what to pass', async () => {
    const arm = await fakeArm()
    for (const args of [baseArgsWithoutImage, [...baseArgsWithoutImage, '--what-if']]) {
      const result = await runCli(args, arm)

      expect(result.code).toBe(2)
      expect(result.err).toHaveLength(1)
      expect(result.err[0]).toMatch(
        new RegExp(
          `^dockerImage is ${fileImage.replaceAll('.', '\\.')}, the parameters file's placeholder`,
        ),
      )
      expect(result.err[0]).toContain('--set dockerImage=ghcr.io/<owner>/<repo>:sha-<commit>')
      expect(result.err[0]).toContain(
        'once production exists, a run without --set dockerImage=… keeps the image it runs',
      )
    }
    // Known only once the web app was found missing; nothing validated nor deployed.
    expect(
      arm.routes().filter((route) => !route.startsWith('GET') && !route.startsWith('HEAD')),
    ).toEqual([])
  })

  it('refuses the placeholder given on the command line before any Azure call', async () => {
    const arm = await fakeArm()
    const result = await runCli(
      [
        ...baseArgsWithoutImage,
        '--set',
        `dockerImage=${placeholderImagePrefix}order-service:sha-1`,
      ],
      arm,
    )

    expect(result.code).toBe(2)
    expect(result.err[0]).toMatch(/^dockerImage is ghcr\.io\/your-org\/order-service:sha-1, /)
    expect(result.credentialsCreated).toBe(0)
    expect(arm.requests).toEqual([])
  })

  it('refuses it as stagingDockerImage too', async () => {
    const arm = await fakeArm()
    const result = await runCli(
      [...baseArgs, '--set', `stagingDockerImage=${placeholderImagePrefix}order-service:sha-1`],
      arm,
    )

    expect(result.code).toBe(2)
    expect(result.err[0]).toMatch(
      /^stagingDockerImage is ghcr\.io\/your-org\/order-service:sha-1, /,
    )
    expect(arm.requests).toEqual([])
  })

  it('deploys an image given with --set', async () => {
    const arm = await fakeArm()
    const result = await runCli(baseArgs, arm)

    expect(result.err).toEqual([])
    expect(result.code).toBe(0)
  })
})
