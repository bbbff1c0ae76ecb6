import { writeFile } from 'node:fs/promises'
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
