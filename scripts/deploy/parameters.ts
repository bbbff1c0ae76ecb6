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

/** One `--set` or `--set-from-env` flag, as given on the command line. */
export interface OverrideFlag {
  flag: '--set' | '--set-from-env'
  /** `name=value` or `name=VARIABLE`. */
  pair: string
}

/**
 * A parameter's value from the command line. `variable` is the environment variable it was read
 * from (--set-from-env): such a value may be a secret and is never shown in a message.
 */
export interface Override {
  value: string
  variable?: string
}

/**
 * The `--set name=value` and `--set-from-env name=VARIABLE` flags, in the order given, as one
 * record of name → Override, the latter's values read from `env`. Secrets travel by
 * --set-from-env so they never appear in argv, which npm echoes when it runs a script. Throws
 * DeployError for a malformed flag, unset or empty variables (all of them named at once), and a parameter given twice (by
 * either flag): which value should win is not for the command to guess, and a later flag
 * silently replaced the earlier one.
 */
export function parseCommandLineOverrides(
  flags: readonly OverrideFlag[],
  env: Readonly<Record<string, string | undefined>>,
): Record<string, Override> {
  const overrides: Record<string, Override> = {}
  const givenBy = new Map<string, string>()
  /** The --set-from-env pairs whose variable is unset or empty. */
  const unset: string[] = []
  for (const { flag, pair } of flags) {
    const at = pair.indexOf('=')
    const name = pair.slice(0, at)
    const earlier = givenBy.get(name)
    if (at > 0 && earlier) {
      throw new DeployError(
        `Parameter ${name} is given twice on the command line (${earlier} and ${flag}): give it once, as only one of the values could be deployed.`,
      )
    }
    if (flag === '--set') {
      if (at <= 0) throw new DeployError(`--set expects name=value, got "${pair}"`)
      overrides[name] = { value: pair.slice(at + 1) }
    } else {
      if (at <= 0 || at === pair.length - 1) {
        throw new DeployError(`--set-from-env expects name=ENV_VARIABLE, got "${pair}"`)
      }
      const variable = pair.slice(at + 1)
      const value = env[variable]
      if (value) overrides[name] = { value, variable }
      else unset.push(pair)
    }
    givenBy.set(name, flag)
  }
  // All at once: one run per forgotten secret was one too many.
  if (unset.length === 1) {
    const [pair = ''] = unset
    throw new DeployError(
      `--set-from-env ${pair}: environment variable ${pair.slice(pair.indexOf('=') + 1)} is not set or empty`,
    )
  }
  if (unset.length > 1) {
    throw new DeployError(
      `--set-from-env ${unset.join(', ')}: environment variables ${unset.map((pair) => pair.slice(pair.indexOf('=') + 1)).join(', ')} are not set or empty`,
    )
  }
  return overrides
}

/**
 * Merges file values with command-line overrides and checks them against the
 * template here, so a typo or a forgotten secret fails before any Azure call. The parameters
 * named in `resolvedLater` may be missing here: a later step gives them a value or refuses
 * (the images, which live-images.ts reads from the apps that run them).
 */
export function resolveParameters(
  template: Template,
  fileValues: ParameterValues,
  overrides: Readonly<Record<string, Override>>,
  resolvedLater: readonly string[] = [],
): ParameterValues {
  const declared = template.parameters
  const values: ParameterValues = { ...fileValues }
  for (const [name, override] of Object.entries(overrides)) {
    const definition = declared[name]
    if (definition) values[name] = { value: coerce(name, override, definition) }
  }

  const unknown = [...Object.keys(fileValues), ...Object.keys(overrides)].filter(
    (name) => !(name in declared),
  )
  if (unknown.length > 0) {
    throw new DeployError(`Unknown template parameter(s): ${[...new Set(unknown)].join(', ')}`)
  }
  const missing = Object.entries(declared).filter(
    ([name, definition]) =>
      !('defaultValue' in definition) && !(name in values) && !resolvedLater.includes(name),
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

// ARM type-checks parameters, so "2" from the command line must become 2 for an int. A value
// read from an environment variable is never echoed: the variable is named instead.
function coerce(name: string, override: Override, definition: TemplateParameter): unknown {
  const { value: raw, variable } = override
  const type = definition.type.toLowerCase()
  const refuse = (expected: string) =>
    new DeployError(
      variable === undefined
        ? `--set ${name} expects ${expected}, got "${raw}"`
        : `--set-from-env ${name}=${variable} expects ${expected}, but environment variable ${variable} holds something else (its value is not shown, as it may be a secret)`,
    )
  if (type === 'int') {
    if (!/^-?\d+$/.test(raw)) throw refuse('an integer')
    return Number(raw)
  }
  if (type === 'bool') {
    if (raw !== 'true' && raw !== 'false') throw refuse('true or false')
    return raw === 'true'
  }
  if (type === 'object' || type === 'array' || type === 'secureobject') {
    try {
      return JSON.parse(raw)
    } catch {
      const flag = variable === undefined ? `--set ${name}` : `--set-from-env ${name}=${variable}`
      throw new DeployError(`${flag} expects JSON for a parameter of type ${definition.type}`)
    }
  }
  return raw
}
