import { DeployError } from './errors.ts'
import type { ParameterValues } from './parameters.ts'

/**
 * Key Vault's naming rule: 3 to 24 characters, letters, digits and hyphens, starting with a
 * letter, ending with a letter or digit, no two hyphens in a row.
 */
export const keyVaultNamePattern = /^(?!.*--)[a-zA-Z][a-zA-Z0-9-]{1,22}[a-zA-Z0-9]$/

/**
 * Stops a deployment with secretsInKeyVault=true whose keyVaultName Key Vault would refuse,
 * before any Azure call: ARM checks only the length, and the vault would fail mid-deployment,
 * after other resources had been changed. The template's default name (kv- and a 13-character
 * hash) always fits; a name held in Key Vault (a `reference`) is not known here and not checked.
 * Whether the name is free (names are global, and a soft-deleted vault keeps its name) only
 * Azure knows: the deployment then fails at the vault (docs/deployment.md, "Secrets in Key Vault").
 */
export function checkKeyVaultParameters(
  parameters: ParameterValues,
  fromEnv: Readonly<Record<string, string>> = {},
): void {
  if (parameters.secretsInKeyVault?.value !== true) return
  const name = parameters.keyVaultName?.value
  if (typeof name !== 'string' || keyVaultNamePattern.test(name)) return
  // Read from an environment variable: named by it, not quoted (it may be a secret).
  const variable = fromEnv.keyVaultName
  const given = variable === undefined ? `"${name}"` : `from environment variable ${variable}`
  throw new DeployError(
    `keyVaultName ${given} is not a Key Vault name: 3 to 24 letters, digits and hyphens, starting with a letter, ending with a letter or digit, no two hyphens in a row (docs/deployment.md, "Secrets in Key Vault")`,
  )
}
