import type {
  DeploymentProperties,
  DeploymentsClient,
  ErrorResponse,
} from '@azure/arm-resourcesdeployments'
import { formatArmError } from './arm-error.ts'
import { DeployError } from './errors.ts'
import { isRecord } from './json-file.ts'

/**
 * Runs ARM's preflight validation. A rejected template comes back as HTTP 400,
 * which the SDK turns into an error whose message keeps only the top-level
 * code; the details that say what is wrong are read from the raw response.
 */
export async function validateTemplate(
  deployments: DeploymentsClient,
  resourceGroup: string,
  deploymentName: string,
  properties: DeploymentProperties,
  pollIntervalMs: number | undefined,
): Promise<void> {
  let rejected: ErrorResponse | undefined
  let result: Awaited<ReturnType<DeploymentsClient['deployments']['validate']>>
  try {
    result = await deployments.deployments.validate(
      resourceGroup,
      deploymentName,
      { properties },
      {
        updateIntervalInMs: pollIntervalMs,
        onResponse: (response) => {
          const body: unknown = response.parsedBody
          if (response.status >= 400 && isRecord(body) && isRecord(body.error)) {
            rejected = body.error as ErrorResponse
          }
        },
      },
    )
  } catch (err) {
    if (rejected) throw validationError(rejected)
    throw err
  }
  if (result.error) throw validationError(result.error)
}

function validationError(error: ErrorResponse): DeployError {
  return new DeployError(['Template validation failed:', ...formatArmError(error, 1)].join('\n'))
}
