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

/**
 * The `--set name=value` and `--set-from-env name=VARIABLE` flags as one record of name → value,
 * the latter's values read from `env`. Secrets travel by --set-from-env so they never appear in
 * argv, which npm echoes when it runs a script. Throws DeployError for a malformed flag, an unset
 * or empty variable, and a parameter given twice (by either flag): which value should win is not
 * for the command to guess, and a later flag silently replaced the earlier one.
 */
export function parseCommandLineOverrides(
  set: readonly string[],
  fromEnv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
): Record<string, string> {
  const overrides: Record<string, string> = {}
  const givenBy = new Map<string, string>()
  const add = (flag: string, name: string, value: string) => {
    const earlier = givenBy.get(name)
    if (earlier) {
      throw new DeployError(
        `Parameter ${name} is given twice on the command line (${earlier} and ${flag}): give it once, as only one of the values could be deployed.`,
      )
    }
    givenBy.set(name, flag)
    overrides[name] = value
  }
  for (const pair of set) {
    const at = pair.indexOf('=')
    if (at <= 0) throw new DeployError(`--set expects name=value, got "${pair}"`)
    add('--set', pair.slice(0, at), pair.slice(at + 1))
  }
  for (const pair of fromEnv) {
    const at = pair.indexOf('=')
    if (at <= 0 || at === pair.length - 1) {
      throw new DeployError(`--set-from-env expects name=ENV_VARIABLE, got "${pair}"`)
    }
    const variable = pair.slice(at + 1)
    const value = env[variable]
    if (!value) {
      throw new DeployError(
        `--set-from-env ${pair}: environment variable ${variable} is not set or empty`,
      )
    }
    add('--set-from-env', pair.slice(0, at), value)
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
  const missing = Object.entries(declared).filter(
    ([name, definition]) => !('defaultValue' in definition) && !(name in values),
  )
  if (missing.length > 0) {
    const names = missing.map(([name]) => name).join(', ')
    const hint = missing
      .map(([name, definition]) =>
        definition.type.toLowerCase().startsWith('secure')
          ? `--set-from-env ${name}=ENV_VARIABLE`
          : `--set ${name}=...`,
      )
      .join(' ')
    throw new DeployError(
      `Missing value for template parameter(s) ${names}: add them to the parameter file or pass ${hint}`,
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
