import { DeployError } from './errors.ts'
import type { ParameterValues } from './parameters.ts'
import type { Template } from './template.ts'

/**
 * Parameters that each pass the template's own constraints (constraints.ts) but that Azure refuses
 * together, and only once the deployment is under way: the PostgreSQL server or the autoscale
 * setting fails after other resources were written. Checked before any Azure call, as
 * prepareDeployment's other checks. A value given as a Key Vault `reference` is not known here,
 * and a check that needs it is skipped; a value read from an environment variable (`fromEnv`:
 * parameter name → variable, --set-from-env) is named by its variable, never shown.
 */
export function checkParameterCombinations(
  template: Template,
  parameters: ParameterValues,
  fromEnv: Readonly<Record<string, string>> = {},
): void {
  const known = knownValues(template, parameters, fromEnv)
  checkAutoscaleLimits(known)
  checkPostgresSkuTier(known)
}

interface Known {
  value: (name: string) => unknown
  /** Whether the value was read from an environment variable (--set-from-env). */
  fromEnv: (name: string) => boolean
  /** `3` or `"Burstable"`, or `from environment variable VAR` for a value not to be shown. */
  shown: (name: string) => string
  /** The value as a suggestion may quote it, or `fallback` where it is not to be shown. */
  quoted: (name: string, fallback: string) => string
}

function knownValues(
  template: Template,
  parameters: ParameterValues,
  fromEnv: Readonly<Record<string, string>>,
): Known {
  const value = (name: string): unknown => {
    const given = parameters[name]
    if (given) return 'value' in given ? given.value : undefined
    const fallback = template.parameters[name]?.defaultValue
    // An expression (`[…]`) is ARM's to work out.
    return typeof fallback === 'string' && fallback.startsWith('[') ? undefined : fallback
  }
  const quoted = (name: string, fallback: string): string =>
    fromEnv[name] === undefined ? String(value(name)) : fallback
  const shown = (name: string): string =>
    quoted(name, `from environment variable ${fromEnv[name]}, not shown`)
  return { value, fromEnv: (name) => fromEnv[name] !== undefined, shown, quoted }
}

const autoscaleSection = 'docs/deployment.md, "Autoscale limits"'

/**
 * Azure's autoscale setting takes its capacity only with minimum ≤ default ≤ maximum
 * (autoscaleMinInstances, autoscaleDefaultInstances, autoscaleMaxInstances); the template bounds
 * each of them alone (1 to 30).
 */
function checkAutoscaleLimits({ value, fromEnv, shown, quoted }: Known): void {
  const min = value('autoscaleMinInstances')
  const max = value('autoscaleMaxInstances')
  const fallback = value('autoscaleDefaultInstances')
  if (typeof min !== 'number' || typeof max !== 'number') return
  if (min > max) {
    throw new DeployError(
      `autoscaleMinInstances (${shown('autoscaleMinInstances')}) is above autoscaleMaxInstances (${shown('autoscaleMaxInstances')}), and Azure's autoscale refuses a minimum above the maximum: set autoscaleMinInstances to ${quoted('autoscaleMaxInstances', 'autoscaleMaxInstances')} or less, or autoscaleMaxInstances to ${quoted('autoscaleMinInstances', 'autoscaleMinInstances')} or more (${autoscaleSection}).`,
    )
  }
  if (typeof fallback !== 'number' || (fallback >= min && fallback <= max)) return
  const limit = fallback < min ? 'autoscaleMinInstances' : 'autoscaleMaxInstances'
  const other =
    fallback < min
      ? `autoscaleMinInstances to ${quoted('autoscaleDefaultInstances', 'autoscaleDefaultInstances')} or less`
      : `autoscaleMaxInstances to ${quoted('autoscaleDefaultInstances', 'autoscaleDefaultInstances')} or more`
  const range =
    min === max && !fromEnv('autoscaleMinInstances') && !fromEnv('autoscaleMaxInstances')
      ? String(min)
      : `between ${quoted('autoscaleMinInstances', 'autoscaleMinInstances')} and ${quoted('autoscaleMaxInstances', 'autoscaleMaxInstances')}`
  throw new DeployError(
    `autoscaleDefaultInstances (${shown('autoscaleDefaultInstances')}) is ${fallback < min ? 'below' : 'above'} ${limit} (${shown(limit)}), and Azure's autoscale refuses a default outside its minimum and maximum: set autoscaleDefaultInstances to ${range}, or ${other} (${autoscaleSection}).`,
  )
}

/**
 * The compute tier each family of PostgreSQL flexible server sizes is sold in (Azure's "Compute
 * options"): Standard_B* only as Burstable, Standard_D* as GeneralPurpose, Standard_E* as
 * MemoryOptimized. The server refuses any other pairing when the deployment reaches it.
 */
const tierOfFamily: Record<string, string> = {
  B: 'Burstable',
  D: 'GeneralPurpose',
  E: 'MemoryOptimized',
}

/** Standard_B1ms → B, Standard_D4ds_v5 → D; undefined for a name of no family known here. */
function familyOf(skuName: string): string | undefined {
  return /^Standard_([BDE])\d/i.exec(skuName)?.[1]?.toUpperCase()
}

function checkPostgresSkuTier({ value, fromEnv, shown }: Known): void {
  const name = value('postgresSkuName')
  const tier = value('postgresSkuTier')
  if (typeof name !== 'string' || typeof tier !== 'string') return
  const family = familyOf(name)
  const expected = family === undefined ? undefined : tierOfFamily[family]
  if (expected === undefined || expected === tier) return
  const [tierFamily] = Object.entries(tierOfFamily).find(([, t]) => t === tier) ?? []
  // With a value from an environment variable, the rule in full: a tier or a family named from
  // the other value would tell what the variable holds.
  const rule =
    fromEnv('postgresSkuName') || fromEnv('postgresSkuTier')
      ? 'Standard_B* sizes only with tier Burstable, Standard_D* only with GeneralPurpose and Standard_E* only with MemoryOptimized: set postgresSkuTier to the tier of the size'
      : `Standard_${family}* sizes only with tier ${expected}: set postgresSkuTier to ${expected}${tierFamily === undefined ? '' : `, or postgresSkuName to a Standard_${tierFamily}* size`}`
  throw new DeployError(
    `postgresSkuTier (${shown('postgresSkuTier')}) does not match postgresSkuName (${shown('postgresSkuName')}), and Azure Database for PostgreSQL takes ${rule} (docs/deployment.md, "PostgreSQL compute").`,
  )
}
