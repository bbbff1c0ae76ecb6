import type { ResourceManagementClient } from '@azure/arm-resources'
import { isRestError } from '@azure/arm-resourcesdeployments'
import { DeployError } from './errors.ts'
import { isRecord } from './json-file.ts'
import type { ParameterValues } from './parameters.ts'
import type { Template } from './template.ts'

/**
 * A size the template sets that Azure changes after the deployment that created the resource.
 * ARM writes whatever the template says at every deployment (a PUT of the whole resource), so
 * the template's value would undo Azure's change at each release; instead the deployment is
 * sent the value the resource has now, read just before.
 */
interface LiveSize {
  /** What the resource is, for the messages. */
  what: string
  type: string
  /** The template parameter naming the resource. */
  nameParameter: string
  /** The template parameter setting the size. */
  parameter: string
  /** The size, in words. */
  size: string
  read: (resource: Record<string, unknown>) => unknown
  /** The value to deploy, from the live one and the one asked for. */
  keep: (live: number, requested: number) => number
  explain: (name: string, live: number, requested: number) => string
}

const liveSizes: LiveSize[] = [
  {
    what: 'App Service plan',
    type: 'Microsoft.Web/serverfarms',
    nameParameter: 'appServicePlanName',
    parameter: 'appServicePlanInstanceCount',
    size: 'instance count',
    read: (plan) => (isRecord(plan.sku) ? plan.sku.capacity : undefined),
    // Autoscale owns the count once the plan exists, whichever way it moved it.
    keep: (live) => live,
    explain: (name, live, requested) =>
      `App Service plan ${name} runs ${live} instances: deploying it with ${live}, not appServicePlanInstanceCount=${requested} (autoscale owns the count once the plan exists).`,
  },
  {
    what: 'PostgreSQL server',
    type: 'Microsoft.DBforPostgreSQL/flexibleServers',
    nameParameter: 'postgresServerName',
    parameter: 'postgresStorageSizeGB',
    size: 'storage size',
    read: (server) =>
      isRecord(server.properties) && isRecord(server.properties.storage)
        ? server.properties.storage.storageSizeGB
        : undefined,
    // Auto-grow (or a resize by hand) only ever grows it, and Flexible Server refuses a
    // smaller size: ask for the larger of the two.
    keep: (live, requested) => Math.max(live, requested),
    explain: (name, live, requested) =>
      `PostgreSQL server ${name} has ${live} GB of storage: deploying it with ${live}, not postgresStorageSizeGB=${requested} (storage grows, by auto-grow or by hand, and never shrinks).`,
  },
]

/**
 * Returns the parameters with each live size in place of the one asked for, for the
 * resources that exist already; a resource not there yet (404) is created as asked. A resource
 * that cannot be read stops the deployment: deploying blind would reset it.
 */
export async function keepLiveSizes(
  resources: ResourceManagementClient,
  target: { subscriptionId: string; resourceGroup: string },
  template: Template,
  parameters: ParameterValues,
  log: (line: string) => void,
): Promise<ParameterValues> {
  const kept: ParameterValues = { ...parameters }
  for (const size of liveSizes) {
    const name = parameters[size.nameParameter]?.value
    const requested =
      parameters[size.parameter]?.value ?? template.parameters[size.parameter]?.defaultValue
    const apiVersion = apiVersionOf(template, size.type)
    if (typeof name !== 'string' || typeof requested !== 'number' || !apiVersion) continue
    const id = `subscriptions/${target.subscriptionId}/resourceGroups/${target.resourceGroup}/providers/${size.type}/${name}`
    const label = `${size.what} ${name}`
    const resource = await readResource(resources, id, apiVersion, label, size.size)
    const live = resource ? size.read(resource) : undefined
    if (typeof live !== 'number') continue
    const value = size.keep(live, requested)
    if (value === requested) continue
    kept[size.parameter] = { value }
    log(size.explain(name, live, requested))
  }
  return kept
}

/**
 * The resource as a GET by id answers it (`id` without a leading slash), undefined when it does
 * not exist (404). Any other failure throws DeployError (exit 1) naming `label` and what the
 * deployment must keep of it (`keeps`): deploying blind would reset that.
 */
export async function readResource(
  resources: ResourceManagementClient,
  id: string,
  apiVersion: string,
  label: string,
  keeps: string,
): Promise<Record<string, unknown> | undefined> {
  try {
    return (await resources.resources.getById(id, apiVersion)) as Record<string, unknown>
  } catch (err) {
    if (isRestError(err) && err.statusCode === 404) return undefined
    const status = isRestError(err) && err.statusCode ? ` (HTTP ${err.statusCode})` : ''
    const code = isRestError(err) && err.code ? `${err.code}: ` : ''
    const message = (err instanceof Error ? err.message : String(err)).split('\n')[0]
    throw new DeployError(
      `Could not read ${label}${status}, whose ${keeps} a deployment must keep: ${code}${message}`,
      1,
    )
  }
}

/** The apiVersion the template writes the resource type with: read with the same. */
export function apiVersionOf(template: Template, type: string): string | undefined {
  const resources = Array.isArray(template.resources) ? template.resources : []
  const resource = resources.find((r) => isRecord(r) && r.type === type)
  return isRecord(resource) && typeof resource.apiVersion === 'string'
    ? resource.apiVersion
    : undefined
}
