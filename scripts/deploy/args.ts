import { parseArgs } from 'node:util'
import type { DeployOptions } from './deploy.ts'
import { DeployError } from './errors.ts'
import { parseCommandLineOverrides } from './parameters.ts'
import { defaultTemplateFile } from './template.ts'

export const usage = `Usage: npm run deploy -- --resource-group RG [options]

Deploys arm/azuredeploy.json to a resource group with Azure Resource Manager.

Options:
  -g, --resource-group RG   target resource group (required)
  -l, --location REGION     region for the resource group if it has to be created
  -p, --parameters FILE     ARM parameters file (e.g. arm/azuredeploy.parameters.json)
      --set NAME=VALUE      set one template parameter; repeatable (each parameter
                            once), wins over the file
      --set-from-env NAME=VAR
                            like --set, reading the value from environment variable
                            VAR; use it for secrets (npm echoes command lines)
      --what-if             validate and show what would change, without deploying
      --outputs-file FILE   after a deployment, also write its outputs to FILE as JSON
                            ({"siteUrl": "https://…", …}), for scripts such as CD
      --name NAME           deployment name (default: order-service-<UTC timestamp>)
      --template FILE       template to deploy (default: arm/azuredeploy.json)
  -h, --help                show this help

Environment:
  AZURE_SUBSCRIPTION_ID     subscription to deploy to (required)
  Credentials come from DefaultAzureCredential: \`az login\`, AZURE_CLIENT_ID/AZURE_TENANT_ID
  with a secret, certificate or federated token, or a managed identity.`

export type ParsedArgs = { help: true } | { help: false; options: DeployOptions }

export function parseDeployArgs(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
  now: Date,
): ParsedArgs {
  let values: ReturnType<typeof parse>['values']
  try {
    values = parse(argv).values
  } catch (err) {
    // parseArgs messages are already readable ("Unknown option '--foo'...").
    throw new DeployError(`${(err as Error).message} (see --help)`)
  }
  if (values.help) return { help: true }

  const resourceGroup = values['resource-group']
  if (!resourceGroup) throw new DeployError('Missing --resource-group <name> (see --help)')
  return {
    help: false,
    options: {
      resourceGroup,
      location: values.location,
      parametersFile: values.parameters,
      templateFile: values.template ?? defaultTemplateFile,
      overrides: parseCommandLineOverrides(values.set ?? [], values['set-from-env'] ?? [], env),
      whatIf: values['what-if'] ?? false,
      outputsFile: values['outputs-file'],
      deploymentName: values.name ?? defaultDeploymentName(now),
    },
  }
}

function parse(argv: readonly string[]) {
  return parseArgs({
    args: [...argv],
    strict: true,
    allowPositionals: false,
    options: {
      'resource-group': { type: 'string', short: 'g' },
      location: { type: 'string', short: 'l' },
      parameters: { type: 'string', short: 'p' },
      set: { type: 'string', multiple: true },
      'set-from-env': { type: 'string', multiple: true },
      'what-if': { type: 'boolean' },
      'outputs-file': { type: 'string' },
      name: { type: 'string' },
      template: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  })
}

// Unique per run so the resource group's deployment history keeps each one.
function defaultDeploymentName(now: Date): string {
  const stamp = now
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z')
  return `order-service-${stamp}`
}
