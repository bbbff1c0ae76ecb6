import type { ResourceManagementClient } from '@azure/arm-resources'
import { DeployError } from './errors.ts'

export interface ResourceGroupRequest {
  name: string
  location: string | undefined
  /** What-if must not change anything, so it only checks. */
  create: boolean
}

/** Makes sure the target resource group exists; returns its region. */
export async function ensureResourceGroup(
  client: ResourceManagementClient,
  request: ResourceGroupRequest,
  log: (line: string) => void,
): Promise<string> {
  const { name, location } = request
  const exists = (await client.resourceGroups.checkExistence(name)).body
  if (exists) {
    const group = await client.resourceGroups.get(name)
    log(`Resource group ${name} exists (${group.location}).`)
    if (location && normalise(location) !== normalise(group.location)) {
      log(`Note: --location ${location} ignored; the group is in ${group.location}.`)
    }
    return group.location
  }
  if (!request.create) {
    throw new DeployError(
      `Resource group ${name} does not exist; what-if does not create it. Run without --what-if (with --location) to create it.`,
    )
  }
  if (!location) {
    throw new DeployError(
      `Resource group ${name} does not exist: pass --location <region> (e.g. westeurope) to create it.`,
    )
  }
  const group = await client.resourceGroups.createOrUpdate(name, { location })
  log(`Created resource group ${name} (${group.location}).`)
  return group.location
}

// ARM accepts "West Europe" and "westeurope" as the same region.
function normalise(region: string): string {
  return region.replace(/\s+/g, '').toLowerCase()
}
