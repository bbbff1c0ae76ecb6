import type { DeploymentParameter } from '@azure/arm-resourcesdeployments'
import { DeployError } from './errors.ts'
import { isRecord, readJsonFile } from './json-file.ts'
import type { Template, TemplateParameter } from './template.ts'

export type ParameterValues = Record<string, DeploymentParameter>

/** Reads an ARM deployment parameters file ({ "parameters": { name: { value | reference } } }). */
export async function loadParameterFile(path: string): Promise<ParameterValues> {
  const json = await readJsonFile(path, 'Parameter file')
  if (!isRecord(json) || !isRecord(json.parameters)) {
    throw new DeployError(`Parameter file has no "parameters" object: ${path}`)
  }
  const values: ParameterValues = {}
  for (const [name, entry] of Object.entries(json.parameters)) {
    if (!isRecord(entry) || !('value' in entry || 'reference' in entry)) {
      throw new DeployError(
        `Parameter file entry "${name}" needs a "value" or a Key Vault "reference": ${path}`,
      )
    }
    values[name] = entry
  }
  return values
}

/** Splits repeated `--set name=value` flags. */
export function parseOverrides(pairs: readonly string[]): Record<string, string> {
  const overrides: Record<string, string> = {}
  for (const pair of pairs) {
    const at = pair.indexOf('=')
    if (at <= 0) throw new DeployError(`--set expects name=value, got "${pair}"`)
    overrides[pair.slice(0, at)] = pair.slice(at + 1)
  }
  return overrides
}

/**
 * Merges file values with command-line overrides and checks them against the
 * template here, so a typo or a forgotten secret fails before any Azure call.
 */
export function resolveParameters(
  template: Template,
  fileValues: ParameterValues,
  overrides: Record<string, string>,
): ParameterValues {
  const declared = template.parameters
  const values: ParameterValues = { ...fileValues }
  for (const [name, raw] of Object.entries(overrides)) {
    const definition = declared[name]
    if (definition) values[name] = { value: coerce(name, raw, definition) }
  }

  const unknown = [...Object.keys(fileValues), ...Object.keys(overrides)].filter(
    (name) => !(name in declared),
  )
  if (unknown.length > 0) {
    throw new DeployError(`Unknown template parameter(s): ${[...new Set(unknown)].join(', ')}`)
  }
  const missing = Object.entries(declared)
    .filter(([name, definition]) => !('defaultValue' in definition) && !(name in values))
    .map(([name]) => name)
  if (missing.length > 0) {
    const hint = missing.map((name) => `--set ${name}=...`).join(' ')
    throw new DeployError(
      `Missing value for template parameter(s) ${missing.join(', ')}: add them to the parameter file or pass ${hint}`,
    )
  }
  return values
}

// ARM type-checks parameters, so "2" from the command line must become 2 for an int.
function coerce(name: string, raw: string, definition: TemplateParameter): unknown {
  const type = definition.type.toLowerCase()
  if (type === 'int') {
    if (!/^-?\d+$/.test(raw))
      throw new DeployError(`--set ${name} expects an integer, got "${raw}"`)
    return Number(raw)
  }
  if (type === 'bool') {
    if (raw !== 'true' && raw !== 'false') {
      throw new DeployError(`--set ${name} expects true or false, got "${raw}"`)
    }
    return raw === 'true'
  }
  if (type === 'object' || type === 'array' || type === 'secureobject') {
    try {
      return JSON.parse(raw)
    } catch {
      throw new DeployError(`--set ${name} expects JSON for a parameter of type ${definition.type}`)
    }
  }
  return raw
}
