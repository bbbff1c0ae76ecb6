import { isRestError } from '@azure/arm-resourcesdeployments'
import { formatArmError } from './arm-error.ts'
import { DeployError } from './errors.ts'

export interface Failure {
  message: string
  exitCode: number
}

// @azure/identity error names; matched by name so no class identity is needed.
const noCredentials = new Set(['CredentialUnavailableError', 'AggregateAuthenticationError'])

/** Turns anything thrown during a deploy into a message without a stack trace. */
export function describeFailure(err: unknown): Failure {
  if (err instanceof DeployError) return { message: err.message, exitCode: err.exitCode }
  if (err instanceof Error && noCredentials.has(err.name)) {
    return {
      message:
        'No Azure credentials found: run `az login`, or set AZURE_CLIENT_ID and AZURE_TENANT_ID with a client secret, certificate or federated token (DefaultAzureCredential).',
      exitCode: 2,
    }
  }
  if (err instanceof Error && err.name === 'AuthenticationError') {
    return { message: `Azure sign-in failed: ${firstLine(err.message)}`, exitCode: 2 }
  }
  if (isRestError(err)) {
    const details = (err.details as { error?: Parameters<typeof formatArmError>[0] } | undefined)
      ?.error
    const status = err.statusCode ? ` (HTTP ${err.statusCode})` : ''
    const code = err.code ? `${err.code}: ` : ''
    const lines = details ? formatArmError(details, 1) : [`  ${code}${firstLine(err.message)}`]
    return { message: [`Azure request failed${status}:`, ...lines].join('\n'), exitCode: 1 }
  }
  const message = err instanceof Error ? err.message : String(err)
  return { message: `Deploy failed: ${firstLine(message)}`, exitCode: 1 }
}

function firstLine(text: string): string {
  return text.split('\n')[0] ?? text
}
