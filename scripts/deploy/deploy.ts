import type {
  DeploymentExtended,
  DeploymentProperties,
  DeploymentsClient,
} from '@azure/arm-resourcesdeployments'
import type { TokenCredential } from '@azure/identity'
import { checkAppSettingParameters } from './app-settings.ts'
import { formatArmError } from './arm-error.ts'
import { type ArmClientOptions, createArmClients } from './clients.ts'
import { checkParameterCombinations } from './combinations.ts'
import { checkConnectionBudget } from './connection-budget.ts'
import { checkParameterConstraints } from './constraints.ts'
import { DeployError } from './errors.ts'
import { checkImageParameters, type ImageParameter, imageParameters } from './image.ts'
import { checkKeyVaultParameters } from './key-vault.ts'
import { keepLiveImages } from './live-images.ts'
import { keepLiveSizes } from './live-sizes.ts'
import { checkOutputsFile, formatOutputs, writeOutputsFile } from './outputs.ts'
import {
  loadParameterFile,
  type Override,
  type ParameterValues,
  resolveParameters,
} from './parameters.ts'
import { ensureResourceGroup } from './resource-group.ts'
import { loadTemplate, type Template } from './template.ts'
import { validateTemplate } from './validate.ts'
import { formatWhatIf } from './what-if.ts'

const imageNames = Object.keys(imageParameters) as ImageParameter[]

export interface DeployOptions {
  resourceGroup: string
  /** Region used only when the resource group has to be created. */
  location?: string
  templateFile: string
  parametersFile?: string
  /** `--set` and `--set-from-env` values; they win over the parameter file. */
  overrides: Record<string, Override>
  whatIf: boolean
  deploymentName: string
  /** Where to write the deployment's outputs as JSON (`--outputs-file`); not on what-if. */
  outputsFile?: string
}

export interface DeployDeps {
  credential: TokenCredential
  subscriptionId: string
  clientOptions?: ArmClientOptions
  log: (line: string) => void
  /** Undefined lets ARM's Retry-After pace the polling. */
  pollIntervalMs?: number
  now?: () => number
}

/** The template and the values asked for, once every check that needs no Azure call passed. */
export interface PreparedDeployment {
  template: Template
  asked: ParameterValues
}

/**
 * Everything that can be checked without Azure: the files, the parameters against the template
 * (names, types, lengths, ranges, allowed values), the values Azure refuses together (autoscale
 * limits, PostgreSQL size and tier), the service's own rules (connections, the app settings it
 * checks at its start, Key Vault name) and that the outputs file can be written. Runs before any
 * credential is created, so a wrong value is told as itself, not as whatever the first Azure
 * call fails with.
 * Throws DeployError (exit 2).
 */
export async function prepareDeployment(
  options: DeployOptions,
  log: (line: string) => void,
): Promise<PreparedDeployment> {
  const template = await loadTemplate(options.templateFile)
  const fileValues = options.parametersFile ? await loadParameterFile(options.parametersFile) : {}
  // An image may be left out: a deployment keeps the one its app runs (live-images.ts), and
  // only a first deployment, with no app to read, needs one.
  const asked = resolveParameters(template, fileValues, options.overrides, imageNames)
  // Parameter name → the environment variable its value came from: such values are not echoed.
  const fromEnv = Object.fromEntries(
    Object.entries(options.overrides).flatMap(([name, { variable }]) =>
      variable === undefined ? [] : [[name, variable]],
    ),
  )
  // The vault's own naming rule first: it says more than the template's lengths do.
  checkKeyVaultParameters(asked, fromEnv)
  checkParameterConstraints(template, asked, fromEnv)
  // The file's image is checked only if it is deployed: live-images.ts keeps production's.
  checkImageParameters(
    asked,
    imageNames.filter((name) => name in options.overrides),
  )
  checkParameterCombinations(template, asked, fromEnv)
  checkConnectionBudget(template, asked, log)
  checkAppSettingParameters(template, asked, fromEnv)
  // Written only once deployed: a file that cannot be is told now, not after the deployment.
  if (options.outputsFile && !options.whatIf) await checkOutputsFile(options.outputsFile)
  return { template, asked }
}

/** Deploys (or, with whatIf, previews) what prepareDeployment checked; prepares it when not given. */
export async function deploy(
  options: DeployOptions,
  deps: DeployDeps,
  prepared?: PreparedDeployment,
): Promise<void> {
  const { resourceGroup, deploymentName } = options
  const { log } = deps
  const { template, asked } = prepared ?? (await prepareDeployment(options, log))

  const { resources, deployments } = createArmClients(
    deps.credential,
    deps.subscriptionId,
    deps.clientOptions,
  )
  await ensureResourceGroup(
    resources,
    { name: resourceGroup, location: options.location, create: !options.whatIf },
    log,
  )
  const target = { subscriptionId: deps.subscriptionId, resourceGroup }
  const sized = await keepLiveSizes(resources, target, template, asked, log)
  const given = new Set(Object.keys(options.overrides))
  const parameters = await keepLiveImages(resources, target, template, sized, given, log)
  const properties: DeploymentProperties = { mode: 'Incremental', template, parameters }

  log(`Validating deployment ${deploymentName}...`)
  await validateTemplate(
    deployments,
    resourceGroup,
    deploymentName,
    properties,
    deps.pollIntervalMs,
  )
  log('Template is valid.')

  if (options.whatIf) {
    const result = await deployments.deployments.whatIf(
      resourceGroup,
      deploymentName,
      { properties: { ...properties, whatIfSettings: { resultFormat: 'FullResourcePayloads' } } },
      { updateIntervalInMs: deps.pollIntervalMs },
    )
    if (result.error) {
      throw new DeployError(['What-if failed:', ...formatArmError(result.error, 1)].join('\n'), 1)
    }
    for (const line of formatWhatIf(result)) log(line)
    return
  }

  const deployment = await createDeployment(deployments, options, properties, deps)
  for (const line of formatOutputs(deployment.properties?.outputs)) log(line)
  if (options.outputsFile) {
    await writeOutputsFile(options.outputsFile, deployment.properties?.outputs)
    log(`Outputs written to ${options.outputsFile}.`)
  }
}

async function createDeployment(
  deployments: DeploymentsClient,
  options: DeployOptions,
  properties: DeploymentProperties,
  deps: DeployDeps,
): Promise<DeploymentExtended> {
  const { resourceGroup, deploymentName } = options
  const now = deps.now ?? Date.now
  const started = now()
  const elapsed = () => `${Math.round((now() - started) / 1000)}s`

  deps.log(`Deploying ${deploymentName} to resource group ${resourceGroup}...`)
  const poller = deployments.deployments.createOrUpdate(
    resourceGroup,
    deploymentName,
    { properties },
    { updateIntervalInMs: deps.pollIntervalMs },
  )
  poller.onProgress((state) => {
    if (state.status === 'running') deps.log(`  still running (${elapsed()})`)
  })
  try {
    const deployment = await poller
    deps.log(`Deployment succeeded in ${elapsed()}.`)
    return deployment
  } catch (err) {
    throw await deploymentFailure(deployments, resourceGroup, deploymentName, err)
  }
}

/**
 * The poller's error only carries the top-level code ("DeploymentFailed"); the
 * deployment record has the per-resource details, so fetch it.
 */
async function deploymentFailure(
  deployments: DeploymentsClient,
  resourceGroup: string,
  deploymentName: string,
  cause: unknown,
): Promise<unknown> {
  try {
    const failed = await deployments.deployments.get(resourceGroup, deploymentName)
    const error = failed.properties?.error
    if (!error) return cause
    return new DeployError(
      [`Deployment ${deploymentName} failed:`, ...formatArmError(error, 1)].join('\n'),
      1,
    )
  } catch {
    return cause
  }
}
