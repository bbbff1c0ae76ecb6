import { type FileHandle, open, rm, stat, writeFile } from 'node:fs/promises'
import { dirname } from 'node:path'
import { DeployError } from './errors.ts'

/** Deployment outputs arrive as { name: { type, value } }: [name, value] pairs, in order. */
function outputValues(outputs: unknown): [string, unknown][] {
  if (typeof outputs !== 'object' || outputs === null) return []
  return Object.entries(outputs as Record<string, { value?: unknown }>).map(([name, output]) => [
    name,
    output?.value ?? null,
  ])
}

/** One "name: value" line per output. */
export function formatOutputs(outputs: unknown): string[] {
  const values = outputValues(outputs)
  if (values.length === 0) return ['Outputs: (none)']
  return [
    'Outputs:',
    ...values.map(
      ([name, value]) => `  ${name}: ${typeof value === 'string' ? value : JSON.stringify(value)}`,
    ),
  ]
}

/**
 * Writes the outputs as one JSON object of name → value (`{"siteUrl": "https://…"}`), what a
 * script reads with `jq -r .siteUrl`. An output whose condition was false is absent, as ARM
 * leaves it out. Throws DeployError (exit code 1: deployed, but the caller lacks its outputs)
 * when the file cannot be written.
 */
export async function writeOutputsFile(path: string, outputs: unknown): Promise<void> {
  const values = Object.fromEntries(outputValues(outputs))
  try {
    await writeFile(path, `${JSON.stringify(values, null, 2)}\n`)
  } catch (err) {
    throw new DeployError(
      `Deployed, but the outputs file cannot be written: ${path} (${(err as Error).message})`,
      1,
    )
  }
}

/**
 * Stops, before any Azure call, a deployment whose --outputs-file could not be written once it
 * went through: a folder, a file that cannot be opened for writing, a folder that does not exist
 * or cannot be written. An existing file is opened for writing and closed, neither truncated nor
 * changed; a missing one is created and removed again. Throws DeployError (exit 2).
 */
export async function checkOutputsFile(path: string): Promise<void> {
  const refuse = (why: string, instead: string) =>
    new DeployError(
      `--outputs-file ${path} could not be written after the deployment: ${why}; ${instead} (docs/deployment.md, "Deploying from your machine").`,
    )
  const existing = await stat(path).catch(() => undefined)
  if (existing?.isDirectory()) {
    throw refuse('it is a folder', 'give the path of a file, such as a name inside that folder')
  }
  const folder = dirname(path)
  let handle: FileHandle
  try {
    // r+ opens for writing without truncating; wx creates, and fails rather than open another's.
    handle = await open(path, existing ? 'r+' : 'wx')
  } catch (err) {
    const { message } = err as Error
    const parent = await stat(folder).catch(() => undefined)
    if (!parent?.isDirectory()) {
      const why = parent ? `${folder} is not a folder` : `its folder ${folder} does not exist`
      throw refuse(why, 'create the folder or give another path')
    }
    const what = existing ? 'the file' : `its folder ${folder}`
    throw refuse(`${what} is not writable (${message})`, 'give a path you can write to')
  }
  await handle.close()
  if (!existing) await rm(path, { force: true })
}
