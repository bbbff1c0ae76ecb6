import { readFile } from 'node:fs/promises'
import { DeployError } from './errors.ts'

/** Reads a JSON file, turning "missing" and "malformed" into messages that name the file. */
export async function readJsonFile(path: string, what: string): Promise<unknown> {
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new DeployError(`${what} not found: ${path}`)
    }
    throw new DeployError(`${what} cannot be read: ${path} (${(err as Error).message})`)
  }
  try {
    // Editors often save a BOM; JSON.parse rejects it.
    return JSON.parse(text.replace(/^\uFEFF/, ''))
  } catch (err) {
    throw new DeployError(`${what} is not valid JSON: ${path} (${(err as Error).message})`)
  }
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}
