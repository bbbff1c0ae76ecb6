import { DeployError } from './errors.ts'
import type { ParameterValues } from './parameters.ts'
import type { Template } from './template.ts'

/**
 * Checks the values given (parameter file and command line) against what the template declares
 * of each parameter: minLength and maxLength (strings and arrays), minValue and maxValue
 * (integers), allowedValues. ARM checks the same at validation, but only after a token has been
 * asked for and the resource group read: a 5-character metricsToken then failed as "No Azure
 * credentials" on a machine without them, instead of saying what was wrong with it. Every
 * problem is listed at once, one per line; a secure value, or one read from an environment
 * variable (`fromEnv`: parameter name → variable, --set-from-env), is never echoed. A value held in
 * Key Vault (a `reference`) is not known here and not checked; defaults are the template's own.
 */
export function checkParameterConstraints(
  template: Template,
  values: ParameterValues,
  fromEnv: Readonly<Record<string, string>> = {},
): void {
  const problems: string[] = []
  // In the template's order, as ARM and the docs list them.
  for (const [name, definition] of Object.entries(template.parameters)) {
    const given = values[name]
    if (!given || !('value' in given)) continue
    const { value } = given
    const secure = definition.type.toLowerCase().startsWith('secure')
    const variable = fromEnv[name]
    const shown = secure
      ? ''
      : variable !== undefined
        ? ` (from environment variable ${variable}, not shown)`
        : ` (${JSON.stringify(value)})`
    const length = typeof value === 'string' || Array.isArray(value) ? value.length : undefined
    const unit = typeof value === 'string' ? 'characters' : 'items'
    if (
      length !== undefined &&
      definition.minLength !== undefined &&
      length < definition.minLength
    ) {
      problems.push(
        `${name} is ${length} ${unit} long${shown}; the template requires at least ${definition.minLength}`,
      )
    }
    if (
      length !== undefined &&
      definition.maxLength !== undefined &&
      length > definition.maxLength
    ) {
      problems.push(
        `${name} is ${length} ${unit} long${shown}; the template allows at most ${definition.maxLength}`,
      )
    }
    if (typeof value === 'number') {
      const is = variable === undefined ? `is ${value}` : `is out of range${shown}`
      if (definition.minValue !== undefined && value < definition.minValue) {
        problems.push(`${name} ${is}; the template requires at least ${definition.minValue}`)
      }
      if (definition.maxValue !== undefined && value > definition.maxValue) {
        problems.push(`${name} ${is}; the template allows at most ${definition.maxValue}`)
      }
    }
    const allowed = definition.allowedValues
    if (allowed && !allowed.some((candidate) => candidate === value)) {
      const list = allowed.map((candidate) => JSON.stringify(candidate)).join(', ')
      problems.push(`${name}${shown} is not one the template allows: ${list}`)
    }
  }
  if (problems.length > 0) {
    throw new DeployError(
      ['Parameter value(s) the template refuses:', ...problems.map((p) => `  ${p}`)].join('\n'),
    )
  }
}
