import { ResourceManagementClient } from '@azure/arm-resources'
import {
  DeploymentsClient,
  type DeploymentsClientOptionalParams,
} from '@azure/arm-resourcesdeployments'
import type { TokenCredential } from '@azure/identity'

/**
 * The client settings both SDK clients share. Production leaves them empty
 * (https://management.azure.com); tests point `endpoint` at a local fake ARM.
 */
export type ArmClientOptions = Pick<
  DeploymentsClientOptionalParams,
  'endpoint' | 'httpClient' | 'retryOptions' | 'additionalPolicies'
>

export interface ArmClients {
  resources: ResourceManagementClient
  deployments: DeploymentsClient
}

export function createArmClients(
  credential: TokenCredential,
  subscriptionId: string,
  options: ArmClientOptions = {},
): ArmClients {
  return {
    resources: new ResourceManagementClient(credential, subscriptionId, options),
    deployments: new DeploymentsClient(credential, subscriptionId, options),
  }
}
