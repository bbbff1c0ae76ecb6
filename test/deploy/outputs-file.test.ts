import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { CredentialUnavailableError, type TokenCredential } from '@azure/identity'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { DeployError } from '../../scripts/deploy/errors.ts'
import { writeOutputsFile } from '../../scripts/deploy/outputs.ts'
import { baseArgs, fakeArmPerTest, runCli } from './fake-arm.ts'

// --outputs-file is written once the deployment went through; a path it could not write is
// refused before any Azure call, without creating or changing anything
// (docs/deployment.md, "Deploying from your machine").

const section = 'docs/deployment.md, "Deploying from your machine"'
// A machine without Azure credentials: the command stops right after the local checks.
const noCredential: TokenCredential = {
  getToken: async () => {
    throw new CredentialUnavailableError('EnvironmentCredential is unavailable.')
  },
}

describe('--outputs-file, checked before deploying', () => {
  const fakeArm = fakeArmPerTest()
  let dir: string
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'deploy-outputs-'))
  })
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true })
  })

  it('refuses a folder', async () => {
    const arm = await fakeArm()
    const result = await runCli([...baseArgs, '--outputs-file', dir], arm)

    expect(result.err).toEqual([
      `--outputs-file ${dir} could not be written after the deployment: it is a folder; give the path of a file, such as a name inside that folder (${section}).`,
    ])
    expect(result.code).toBe(2)
    expect(result.credentialsCreated).toBe(0)
    expect(arm.requests).toEqual([])
  })

  it('refuses a file in a folder that does not exist, or under a file', async () => {
    const arm = await fakeArm()
    await writeFile(join(dir, 'plain'), 'x')
    const missing = await runCli([...baseArgs, '--outputs-file', join(dir, 'nope', 'o.json')], arm)
    const underFile = await runCli(
      [...baseArgs, '--outputs-file', join(dir, 'plain', 'o.json')],
      arm,
    )

    expect(missing.err).toEqual([
      `--outputs-file ${dir}/nope/o.json could not be written after the deployment: its folder ${dir}/nope does not exist; create the folder or give another path (${section}).`,
    ])
    expect(underFile.err).toEqual([
      `--outputs-file ${dir}/plain/o.json could not be written after the deployment: ${dir}/plain is not a folder; create the folder or give another path (${section}).`,
    ])
    expect([missing.code, underFile.code]).toEqual([2, 2])
    expect(missing.credentialsCreated + underFile.credentialsCreated).toBe(0)
    expect(arm.requests).toEqual([])
    expect(await readdir(dir)).toEqual(['plain'])
  })

  it('leaves an existing file as it is, and creates none, when the command stops after the check', async () => {
    const arm = await fakeArm()
    const existing = join(dir, 'existing.json')
    await writeFile(existing, '{"kept": true}\n')
    const kept = await runCli([...baseArgs, '--outputs-file', existing], arm, {
      credential: noCredential,
    })
    const fresh = await runCli([...baseArgs, '--outputs-file', join(dir, 'new.json')], arm, {
      credential: noCredential,
    })

    // Past the check, up to the credential.
    expect(kept.err[0]).toMatch(/^No Azure credentials found/)
    expect(fresh.err[0]).toMatch(/^No Azure credentials found/)
    expect(await readFile(existing, 'utf8')).toBe('{"kept": true}\n')
    expect(await readdir(dir)).toEqual(['existing.json'])
  })

  it('is not checked on --what-if, which writes no file', async () => {
    const arm = await fakeArm()
    const file = join(dir, 'nope', 'o.json')
    const result = await runCli([...baseArgs, '--what-if', '--outputs-file', file], arm)

    expect(result.err).toEqual([])
    expect(result.code).toBe(0)
  })

  it('a write that still fails after deploying says the deployment went through (exit 1)', async () => {
    const file = join(dir, 'gone', 'o.json')
    const failure = await writeOutputsFile(file, { siteUrl: { value: 'https://x' } }).catch(
      (err: unknown) => err,
    )

    expect(failure).toBeInstanceOf(DeployError)
    expect((failure as DeployError).exitCode).toBe(1)
    expect((failure as DeployError).message).toMatch(
      /^Deployed, but the outputs file cannot be written: .*\/gone\/o\.json \(ENOENT/,
    )
  })
})
