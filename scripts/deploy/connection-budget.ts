import { DeployError } from './errors.ts'
import type { ParameterValues } from './parameters.ts'
import type { Template } from './template.ts'

/**
 * Connections a PostgreSQL Flexible Server takes from users by default: max_connections less
 * the 15 Azure keeps for itself (Azure's "Limits" page for Flexible Server). Keyed by the
 * compute size without `Standard_` and the generation suffix; sizes not here are not checked.
 */
const userConnections: Record<string, number> = {
  B1ms: 35,
  B2s: 414,
  B2ms: 844,
  B4ms: 1703,
  B8ms: 3422,
  B12ms: 4985,
  B16ms: 4985,
  B20ms: 4985,
  D2: 844,
  D4: 1703,
  D8: 3422,
  D16: 4985,
  D32: 4985,
  D48: 4985,
  D64: 4985,
  D96: 4985,
  E2: 1703,
  E4: 3422,
}

/** B1ms, B2s… as they are; Standard_D4ds_v5 → D4, Standard_E2s_v3 → E2. */
function sizeOf(skuName: string): string {
  const name = skuName.replace(/^Standard_/, '')
  return name.startsWith('B') ? name : (/^[DE]\d+/.exec(name)?.[0] ?? name)
}

export interface ConnectionBudget {
  sku: string
  /** Connections the server takes from users; undefined for a size this table does not know. */
  limit: number | undefined
  processes: number
  poolSize: number
  /** The primaries' connections (one each where an app runs several workers), beside the pools. */
  placers: number
  /** Every pool full at the autoscale maximum, plus one migration connection. */
  connections: number
  explanation: string
}

/**
 * The most connections the deployment's apps can hold at once: each process fills its own
 * pool of databasePoolSize, and the plan's instances each run production and the staging slot
 * (a slot is an app on the same plan, on every one of its instances), WEB_CONCURRENCY
 * processes each, at most autoscaleMaxInstances of them, plus one connection each slot's primary
 * places the workers' orders on when there are several; the dispatch app runs one process per
 * instance; and one more for a migration (`npm run migrate`, or a starting process migrating
 * before its pool opens).
 */
export function connectionBudget(
  template: Template,
  parameters: ParameterValues,
): ConnectionBudget {
  const value = (name: string): unknown =>
    parameters[name]?.value ?? template.parameters[name]?.defaultValue
  const number = (name: string): number => Number(value(name))
  const instances = Math.max(number('autoscaleMaxInstances'), number('appServicePlanInstanceCount'))
  const workers = number('webConcurrency')
  const dispatchers =
    value('webhookDelivery') === 'separate' ? number('dispatchPlanInstanceCount') : 0
  const poolSize = number('databasePoolSize')
  const processes = instances * 2 * workers + dispatchers
  // With several workers, each instance's primary places their orders on one connection.
  const placers = workers > 1 ? instances * 2 : 0
  const connections = processes * poolSize + placers + 1
  const sku = String(value('postgresSkuName'))
  const dispatch =
    dispatchers > 0 ? ` + ${dispatchers} dispatcher${dispatchers > 1 ? 's' : ''}` : ''
  return {
    sku,
    limit: userConnections[sizeOf(sku)],
    processes,
    poolSize,
    placers,
    connections,
    explanation: `(${instances} instance${instances > 1 ? 's' : ''} × 2 slots × ${workers} worker${workers > 1 ? 's' : ''}${dispatch}) × databasePoolSize ${poolSize}${placers > 0 ? ` + ${placers} for the primaries placing orders` : ''} + 1 for a migration`,
  }
}

/** Stops a deployment whose apps could open more connections than its server takes. */
export function checkConnectionBudget(
  template: Template,
  parameters: ParameterValues,
  log: (line: string) => void,
): void {
  const budget = connectionBudget(template, parameters)
  if (budget.limit === undefined) {
    log(
      `Database connections not checked: no connection limit known for postgresSkuName ${budget.sku}; the apps can open ${budget.connections}: ${budget.explanation}.`,
    )
    return
  }
  if (budget.connections <= budget.limit) return
  const fitting = Math.floor((budget.limit - 1 - budget.placers) / budget.processes)
  const lower =
    fitting >= 1
      ? `set databasePoolSize to ${fitting} or less, or lower autoscaleMaxInstances`
      : 'lower autoscaleMaxInstances or webConcurrency'
  throw new DeployError(
    `PostgreSQL ${budget.sku} takes ${budget.limit} connections, and at the autoscale maximum the apps of this deployment can open ${budget.connections}: ${budget.explanation}. Past ${budget.limit}, new connections are refused and requests fail. ${lower[0]?.toUpperCase()}${lower.slice(1)}, or choose a larger postgresSkuName (docs/deployment.md, "Database connections").`,
  )
}
