import { parseArgs } from 'node:util'
import type { DeployOptions } from './deploy.ts'
import { DeployError } from './errors.ts'
import { type OverrideFlag, parseCommandLineOverrides } from './parameters.ts'
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

Every option but --set and --set-from-env may be given once.

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
  let parsed: ReturnType<typeof parse>
  try {
    parsed = parse(argv)
  } catch (err) {
    // parseArgs messages are already readable ("Unknown option '--foo'...").
    throw new DeployError(`${(err as Error).message} (see --help)`)
  }
  const { values, tokens } = parsed
  if (values.help) return { help: true }
  refuseRepeatedOptions(tokens)

  const resourceGroup = values['resource-group']
  if (!resourceGroup) throw new DeployError('Missing --resource-group <name> (see --help)')
  return {
    help: false,
    options: {
      resourceGroup,
      location: values.location,
      parametersFile: values.parameters,
      templateFile: values.template ?? defaultTemplateFile,
      overrides: parseCommandLineOverrides(overrideFlags(tokens), env),
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
    tokens: true,
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

type Token = ReturnType<typeof parse>['tokens'][number]
const repeatable = new Set(['set', 'set-from-env'])

// parseArgs keeps the last of an option given twice: `-g a -g b` deployed to b without a word,
// when which one was meant is not for the command to guess.
function refuseRepeatedOptions(tokens: readonly Token[]): void {
  const seen = new Set<string>()
  for (const token of tokens) {
    if (token.kind !== 'option' || repeatable.has(token.name)) continue
    if (seen.has(token.name)) {
      const why = token.value === undefined ? '' : ', as only one of the values could be used'
      throw new DeployError(
        `--${token.name} is given more than once: give it once${why} (see --help)`,
      )
    }
    seen.add(token.name)
  }
}

// The --set and --set-from-env flags in the order given, so that messages follow the command line.
function overrideFlags(tokens: readonly Token[]): OverrideFlag[] {
  return tokens.flatMap((token) =>
    token.kind === 'option' &&
    (token.name === 'set' || token.name === 'set-from-env') &&
    token.value !== undefined
      ? [{ flag: `--${token.name}`, pair: token.value }]
      : [],
  )
}

// Unique per run so the resource group's deployment history keeps each one.
function defaultDeploymentName(now: Date): string {
  const stamp = now
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z')
  return `order-service-${stamp}`
}
