import { ConfigError, ConfigSchema, loadConfig } from '../../src/config.ts'
import { DeployError } from './errors.ts'
import type { ParameterValues } from './parameters.ts'
import type { Template } from './template.ts'

/** The template's mail parameters and the app setting each one becomes on all three apps. */
export const mailParameters = {
  smtpUrl: 'SMTP_URL',
  mailFrom: 'MAIL_FROM',
  publicBaseUrl: 'PUBLIC_BASE_URL',
} as const

/**
 * The app settings the mail parameters come to: `{ SMTP_URL, MAIL_FROM, PUBLIC_BASE_URL }`, each
 * the given value or the template's default. A default of the form
 * `[format('…{0}…', parameters('name'))]` (publicBaseUrl's) is worked out from that parameter;
 * undefined where a value is not known here (a Key Vault reference, another expression).
 */
export function mailAppSettings(
  template: Template,
  parameters: ParameterValues,
): Record<string, string | undefined> {
  const parameterValue = (name: string): string | undefined => {
    const given = parameters[name]
    if (given) return typeof given.value === 'string' ? given.value : undefined
    const fallback = template.parameters[name]?.defaultValue
    if (typeof fallback !== 'string') return undefined
    if (!fallback.startsWith('[')) return fallback
    const format = /^\[format\('([^']*)', parameters\('(\w+)'\)\)\]$/.exec(fallback)
    const inner = format?.[2] === undefined ? undefined : parameterValue(format[2])
    return inner === undefined ? undefined : format?.[1]?.replace('{0}', inner)
  }
  return Object.fromEntries(
    Object.entries(mailParameters).map(([parameter, setting]) => [
      setting,
      parameterValue(parameter),
    ]),
  )
}

/**
 * Stops a deployment whose mail parameters the service would refuse (src/config.ts: SMTP_URL
 * smtp:// or smtps://, MAIL_FROM an address, PUBLIC_BASE_URL an http(s) address, needed with
 * SMTP_URL). Every app would then stop at its start, production included: a deployment changes
 * production's settings, not only the slot's. The message names the setting, never its value
 * (smtpUrl holds the SMTP password). Values not known here (mailAppSettings) are not checked.
 */
export function checkMailParameters(template: Template, parameters: ParameterValues): void {
  const settings = mailAppSettings(template, parameters)
  if (Object.values(settings).some((value) => value === undefined)) return
  // Every other setting undefined: the check reads these three, not this shell's environment.
  const others = Object.fromEntries(Object.keys(ConfigSchema.properties).map((n) => [n, undefined]))
  try {
    loadConfig({ ...others, ...settings })
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err
    const names = Object.entries(mailParameters).map(([p, s]) => `${p} is ${s}`)
    throw new DeployError(
      `${err.message.replace(/^Invalid configuration: /, 'The apps would refuse to start: ')} (${names.join(', ')}; docs/deployment.md, "Order e-mails on Azure")`,
    )
  }
}
