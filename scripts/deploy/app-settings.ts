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
 * The template parameters that become, as they are, app settings the service checks at its start
 * (src/config.ts), on every app: each group is checked together (SMTP_URL needs PUBLIC_BASE_URL),
 * and its refusal points to the docs/deployment.md section that explains it. Settings the
 * template derives or bounds itself (DATABASE_POOL_SIZE, LOG_LEVEL: ranges, allowed values) are
 * the template's constraints' to check (constraints.ts).
 */
const settingGroups: { parameters: Record<string, string>; section: string }[] = [
  { parameters: mailParameters, section: 'Order e-mails on Azure' },
  { parameters: { trustProxy: 'TRUST_PROXY' }, section: 'What the ARM template creates' },
  { parameters: { metricsToken: 'METRICS_TOKEN' }, section: 'The metrics token' },
]

/**
 * The app settings `names` (parameter → setting) come to: `{ SETTING: value }`, each the given
 * value or the template's default. A default of the form `[format('…{0}…', parameters('name'))]`
 * (publicBaseUrl's) is worked out from that parameter; undefined where a value is not known here
 * (a Key Vault reference, another expression, a value that is not a string).
 */
export function appSettingValues(
  template: Template,
  parameters: ParameterValues,
  names: Readonly<Record<string, string>>,
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
    Object.entries(names).map(([parameter, setting]) => [setting, parameterValue(parameter)]),
  )
}

/** `{ SMTP_URL, MAIL_FROM, PUBLIC_BASE_URL }` as the apps get them (appSettingValues). */
export const mailAppSettings = (template: Template, parameters: ParameterValues) =>
  appSettingValues(template, parameters, mailParameters)

/**
 * Stops a deployment with a parameter whose app setting the service would refuse (settingGroups:
 * the mail settings, TRUST_PROXY, METRICS_TOKEN), checked by the service's own loadConfig. Every
 * app would then stop at its start, production included: a deployment changes production's
 * settings, not only the slot's. The message names the parameter and the setting, never a value
 * (smtpUrl holds the SMTP password, metricsToken is a secret), nor any part of a value read from
 * an environment variable (`fromEnv`: parameter name → variable, --set-from-env). A group with a
 * value not known here (appSettingValues) is not checked. Throws DeployError (exit 2).
 */
export function checkAppSettingParameters(
  template: Template,
  parameters: ParameterValues,
  fromEnv: Readonly<Record<string, string>> = {},
): void {
  // Every other setting undefined: the check reads these, not this shell's environment.
  const others = Object.fromEntries(Object.keys(ConfigSchema.properties).map((n) => [n, undefined]))
  for (const { parameters: names, section } of settingGroups) {
    const settings = appSettingValues(template, parameters, names)
    if (Object.values(settings).some((value) => value === undefined)) continue
    try {
      loadConfig({ ...others, ...settings })
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err
      const named = Object.entries(names).map(([p, s]) => `${p} is ${s}`)
      const reason =
        hiddenReason(err.message, names, settings, fromEnv) ??
        err.message.replace(/^Invalid configuration: /, '')
      throw new DeployError(
        `The apps would refuse to start: ${reason} (${named.join(', ')}; docs/deployment.md, "${section}")`,
      )
    }
  }
}

// The service's messages quote a refused value, or a part of it (TRUST_PROXY has "…", SMTP_URL's
// scheme, a query parameter, its host, MAIL_FROM's domain as xn--…), which is fine for --set but
// not for a value read from an environment variable: it may be a secret. Returns the message to
// say instead when the refused setting (the message's first word) came from one, or when the
// message holds such a value or a comma-separated part of it.
function hiddenReason(
  message: string,
  names: Readonly<Record<string, string>>,
  settings: Record<string, string | undefined>,
  fromEnv: Readonly<Record<string, string>>,
): string | undefined {
  const refused = /^Invalid configuration: (\w+)/.exec(message)?.[1]
  for (const [parameter, setting] of Object.entries(names)) {
    const variable = fromEnv[parameter]
    const value = settings[setting]
    if (variable === undefined || value === undefined) continue
    const parts = [value, ...value.split(',')].map((part) => part.trim()).filter(Boolean)
    if (setting === refused || parts.some((part) => message.includes(part))) {
      return `${setting} from environment variable ${variable} is not a value the service accepts (the value is not shown, as it may be a secret)`
    }
  }
  return undefined
}
