import { fileURLToPath } from 'node:url'
import { DeployError } from './errors.ts'
import { isRecord, readJsonFile } from './json-file.ts'

export const defaultTemplateFile = fileURLToPath(
  new URL('../../arm/azuredeploy.json', import.meta.url),
)

export interface TemplateParameter {
  type: string
  defaultValue?: unknown
  minLength?: number
  maxLength?: number
  minValue?: number
  maxValue?: number
  allowedValues?: unknown[]
}

export interface Template {
  parameters: Record<string, TemplateParameter>
  [key: string]: unknown
}

export async function loadTemplate(path: string): Promise<Template> {
  const json = await readJsonFile(path, 'Template file')
  if (!isRecord(json) || !Array.isArray(json.resources)) {
    throw new DeployError(`Template file is not an ARM template (no "resources" array): ${path}`)
  }
  const parameters = isRecord(json.parameters) ? json.parameters : {}
  for (const [name, definition] of Object.entries(parameters)) {
    if (!isRecord(definition) || typeof definition.type !== 'string') {
      throw new DeployError(`Template parameter "${name}" has no type: ${path}`)
    }
  }
  return { ...json, parameters: parameters as Record<string, TemplateParameter> }
}
