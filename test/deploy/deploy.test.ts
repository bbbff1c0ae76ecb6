import { spawnSync } from 'node:child_process'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { CredentialUnavailableError, type TokenCredential } from '@azure/identity'
import { describe, expect, it } from 'vitest'
import {
  baseArgs,
  baseArgsWithoutImage,
  deploymentPath,
  fakeArmPerTest,
  groupPath,
  metricsToken,
  parametersFile,
  password,
  resourceGroup,
  root,
  runCli,
  subscriptionId,
} from './fake-arm.ts'

const livePath = `/subscriptions/${subscriptionId}/resourceGroups/${resourceGroup}/providers`

describe('deploy command against a fake ARM endpoint', () => {
  const fakeArm = fakeArmPerTest()

  it('validates, deploys with long-running polling and prints the outputs', async () => {
    const arm = await fakeArm()
    const result = await runCli(
      [
        ...baseArgs,
        '--set',
        'autoscaleMaxInstances=5',
        // 5 × 2 slots + 1 dispatcher processes: 3 connections each fit B1ms (connection-budget.test.ts).
        '--set',
        'databasePoolSize=3',
      ],
      arm,
    )

    expect(result.err).toEqual([])
    expect(result.code).toBe(0)
    expect(result.out).toEqual([
      'Resource group rg-orders exists (westeurope).',
      // Which images go where, and why (deploy-live.test.ts): no web app there yet here.
      'dockerImage: ghcr.io/acme/os:abc (given on the command line).',
      "stagingDockerImage: empty, the same as dockerImage (from the template's default: the staging slot does not exist yet).",
      'Validating deployment deploy-test...',
      'Template is valid.',
      'Deploying deploy-test to resource group rg-orders...',
      '  still running (0s)',
      '  still running (0s)',
      'Deployment succeeded in 0s.',
      'Outputs:',
      '  siteUrl: https://orders-web-prod.azurewebsites.net',
      '  databaseHost: orders-pg-prod.postgres.database.azure.com',
      '  dispatchAppName: orders-web-prod-dispatch',
      '  dispatchUrl: https://orders-web-prod-dispatch.azurewebsites.net',
    ])
    expect(arm.routes()).toEqual([
      `HEAD ${groupPath}`,
      `GET ${groupPath}`,
      // The sizes a deployment keeps (deploy-live.test.ts): nothing there yet here.
      `GET ${livePath}/Microsoft.Web/serverfarms/orders-plan-prod`,
      `GET ${livePath}/Microsoft.DBforPostgreSQL/flexibleServers/orders-pg-prod`,
      // The images a deployment keeps: dockerImage is given, the slot's is read.
      `GET ${livePath}/Microsoft.Web/sites/orders-web-prod/slots/staging/config/web`,
      `POST ${deploymentPath}/validate`,
      `PUT ${deploymentPath}`,
      `GET ${deploymentPath}/operationStatuses/op-1`,
      `GET ${deploymentPath}/operationStatuses/op-1`,
      `GET ${deploymentPath}/operationStatuses/op-1`,
      `GET ${deploymentPath}`,
    ])
    for (const request of arm.requests) {
      expect(request.authorization).toBe('Bearer fake-token')
      expect(request.query.get('api-version')).toMatch(/^\d{4}-\d{2}-\d{2}/)
    }

    const put = arm.requests.find((r) => r.method === 'PUT' && r.path === deploymentPath)
    if (!put) throw new Error('no deployment PUT')
    const properties = (put.body as { properties: Record<string, unknown> }).properties
    expect(properties.mode).toBe('Incremental')
    expect((properties.template as { resources: unknown[] }).resources.length).toBeGreaterThan(0)
    const parameters = properties.parameters as Record<string, { value: unknown }>
    expect(parameters.postgresAdminPassword).toEqual({ value: password })
    expect(parameters.metricsToken).toEqual({ value: metricsToken })
    for (const secret of [password, metricsToken]) {
      expect([...result.out, ...result.err].join('\n')).not.toContain(secret)
    }
    // --set values are typed from the template: int parameters arrive as numbers.
    expect(parameters.autoscaleMaxInstances).toEqual({ value: 5 })
    expect(parameters.dockerImage).toEqual({ value: 'ghcr.io/acme/os:abc' })
    expect(parameters.webAppName).toEqual({ value: 'orders-web-prod' })
  })

  it('writes the outputs as JSON to --outputs-file, for CD to read the dispatch app from', async () => {
    const arm = await fakeArm()
    const dir = await mkdtemp(join(tmpdir(), 'deploy-test-'))
    const file = join(dir, 'outputs.json')
    try {
      const result = await runCli([...baseArgs, '--outputs-file', file], arm)

      expect(result.err).toEqual([])
      expect(result.code).toBe(0)
      expect(result.out.at(-1)).toBe(`Outputs written to ${file}.`)
      expect(JSON.parse(await readFile(file, 'utf8'))).toEqual({
        siteUrl: 'https://orders-web-prod.azurewebsites.net',
        databaseHost: 'orders-pg-prod.postgres.database.azure.com',
        dispatchAppName: 'orders-web-prod-dispatch',
        dispatchUrl: 'https://orders-web-prod-dispatch.azurewebsites.net',
      })
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })

  it('refuses an outputs file it could not write before any Azure call, not after deploying', async () => {
    const arm = await fakeArm()
    const file = join(tmpdir(), 'deploy-test-no-such-dir', 'outputs.json')
    const result = await runCli([...baseArgs, '--outputs-file', file], arm)

    expect(result.code).toBe(2)
    expect(result.err).toEqual([
      `--outputs-file ${file} could not be written after the deployment: its folder ${dirname(file)} does not exist; create the folder or give another path (docs/deployment.md, "Deploying from your machine").`,
    ])
    expect(result.credentialsCreated).toBe(0)
    expect(arm.requests).toEqual([])
  })

  it('creates a missing resource group in --location', async () => {
    const arm = await fakeArm({ resourceGroupExists: false })
    const result = await runCli([...baseArgs, '--location', 'northeurope'], arm)

    expect(result.code).toBe(0)
    expect(result.out[0]).toBe('Created resource group rg-orders (northeurope).')
    expect(arm.routes().slice(0, 2)).toEqual([`HEAD ${groupPath}`, `PUT ${groupPath}`])
    expect(arm.requests[1]?.body).toEqual({ location: 'northeurope' })
  })

  it('refuses to guess a region for a missing resource group', async () => {
    const arm = await fakeArm({ resourceGroupExists: false })
    const result = await runCli(baseArgs, arm)

    expect(result.code).toBe(2)
    expect(result.err).toEqual([
      'Resource group rg-orders does not exist: pass --location <region> (e.g. westeurope) to create it.',
    ])
    expect(arm.routes()).toEqual([`HEAD ${groupPath}`])
  })

  it('reports template validation errors readably and does not deploy', async () => {
    const arm = await fakeArm({ templateValid: false })
    const result = await runCli(baseArgs, arm)

    expect(result.code).toBe(2)
    expect(result.err).toEqual([
      [
        'Template validation failed:',
        "  InvalidTemplateDeployment: The template deployment 'deploy-test' is not valid according to the validation procedure. See inner errors for details.",
        "    - SkuNotAvailable: The requested size 'P0v3' is not available in location 'westeurope'. (orders-plan-prod)",
        '    - InvalidParameter: Password must contain characters from three of the following categories.',
      ].join('\n'),
    ])
    expect(result.err.join('\n')).not.toMatch(/\n\s+at /)
    expect(arm.routes()).not.toContain(`PUT ${deploymentPath}`)
  })

  it('prints the what-if result after polling, without changing anything', async () => {
    const arm = await fakeArm()
    const dir = await mkdtemp(join(tmpdir(), 'deploy-test-'))
    const outputsFile = join(dir, 'outputs.json')
    const result = await runCli([...baseArgs, '--what-if', '--outputs-file', outputsFile], arm)
    // Nothing deployed, no outputs: the file is not written.
    await expect(readFile(outputsFile, 'utf8')).rejects.toThrow(/ENOENT/)
    await rm(dir, { recursive: true, force: true })

    expect(result.err).toEqual([])
    expect(result.code).toBe(0)
    expect(result.out).toEqual([
      'Resource group rg-orders exists (westeurope).',
      'dockerImage: ghcr.io/acme/os:abc (given on the command line).',
      "stagingDockerImage: empty, the same as dockerImage (from the template's default: the staging slot does not exist yet).",
      'Validating deployment deploy-test...',
      'Template is valid.',
      'What-if: 1 Modify, 1 Create, 1 NoChange',
      '  ~ Modify      Microsoft.Web/sites/orders-web-prod',
      '      ~ properties.siteConfig.linuxFxVersion: "DOCKER|ghcr.io/acme/order-service:old" => "DOCKER|ghcr.io/acme/order-service:new"',
      '  + Create      Microsoft.Insights/autoscalesettings/orders-plan-prod-autoscale',
      '  = NoChange    Microsoft.DBforPostgreSQL/flexibleServers/orders-pg-prod',
    ])
    const whatIf = arm.requests.find((r) => r.path === `${deploymentPath}/whatIf`)
    expect(whatIf?.body).toMatchObject({
      properties: { mode: 'Incremental', whatIfSettings: { resultFormat: 'FullResourcePayloads' } },
    })
    expect(arm.routes().filter((route) => route.startsWith('PUT'))).toEqual([])
    expect(arm.routes().filter((route) => route.includes('operationresults'))).toHaveLength(2)
  })

  it('shows the per-resource errors of a failed deployment', async () => {
    const arm = await fakeArm({ deploymentSucceeds: false })
    const result = await runCli(baseArgs, arm)

    expect(result.code).toBe(1)
    expect(result.err).toEqual([
      [
        'Deployment deploy-test failed:',
        '  DeploymentFailed: At least one resource deployment operation failed.',
        '    - Conflict: Website with given name orders-web-prod already exists. (orders-web-prod)',
      ].join('\n'),
    ])
  })

  it('explains missing credentials without a stack trace', async () => {
    const arm = await fakeArm()
    const credential: TokenCredential = {
      getToken: async () => {
        throw new CredentialUnavailableError('EnvironmentCredential is unavailable.')
      },
    }
    const result = await runCli(baseArgs, arm, { credential })

    expect(result.code).toBe(2)
    expect(result.err).toEqual([
      'No Azure credentials found: run `az login`, or set AZURE_CLIENT_ID and AZURE_TENANT_ID with a client secret, certificate or federated token (DefaultAzureCredential).',
    ])
    expect(arm.requests).toEqual([])
  })
})

describe('deploy command input checks (no Azure calls)', () => {
  const fakeArm = fakeArmPerTest()
  const missingSubscription =
    'AZURE_SUBSCRIPTION_ID is not set: export the id of the subscription to deploy to (az account show --query id -o tsv).'

  it('says the subscription id is missing before asking for credentials', async () => {
    const result = await runCli(['--resource-group', resourceGroup], undefined, { env: {} })

    expect(result.code).toBe(2)
    expect(result.err).toEqual([missingSubscription])
    expect(result.out).toEqual([])
    expect(result.credentialsCreated).toBe(0)
  })

  it('refuses a value the template refuses before asking Azure anything, credentials included', async () => {
    // A machine without Azure credentials: before, the first Azure call failed first and a
    // 5-character metricsToken was told as "No Azure credentials", not as too short.
    const arm = await fakeArm()
    const credential: TokenCredential = {
      getToken: async () => {
        throw new CredentialUnavailableError('EnvironmentCredential is unavailable.')
      },
    }
    const env = {
      AZURE_SUBSCRIPTION_ID: subscriptionId,
      TEST_PG_PASSWORD: password,
      TEST_METRICS_TOKEN: 'abcde',
    }
    const result = await runCli(
      [
        ...baseArgsWithoutImage,
        '--set',
        'postgresVersion=15',
        '--set',
        'autoscaleMaxInstances=31',
        '--set',
        'dockerImage=',
      ],
      arm,
      { env, credential },
    )

    expect(result.code).toBe(2)
    expect(result.err).toEqual([
      [
        'Parameter value(s) the template refuses:',
        '  dockerImage is 0 characters long (""); the template requires at least 1',
        '  autoscaleMaxInstances is 31; the template allows at most 30',
        '  postgresVersion ("15") is not one the template allows: "16", "17"',
        '  metricsToken is 5 characters long; the template requires at least 16',
      ].join('\n'),
    ])
    expect(result.err.join('\n')).not.toContain('abcde')
    expect(result.credentialsCreated).toBe(0)
    expect(arm.requests).toEqual([])
  })

  it('says so from the real entry point too, as one line with exit code 2', () => {
    const env = { ...process.env }
    delete env.AZURE_SUBSCRIPTION_ID
    const child = spawnSync(
      process.execPath,
      ['scripts/deploy/cli.ts', '--resource-group', resourceGroup],
      { cwd: root, env, encoding: 'utf8' },
    )

    expect(child.stderr).toBe(`${missingSubscription}\n`)
    expect(child.stdout).toBe('')
    expect(child.status).toBe(2)
  })

  it('names a parameter file that does not exist', async () => {
    const result = await runCli(['-g', resourceGroup, '-p', 'arm/nope.json'], undefined)

    expect(result.code).toBe(2)
    expect(result.err).toEqual(['Parameter file not found: arm/nope.json'])
  })

  it('rejects a parameter file that is not valid JSON', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'deploy-test-'))
    const file = join(dir, 'broken.parameters.json')
    try {
      await writeFile(file, '{ "parameters": { "webAppName": ')
      const result = await runCli(['-g', resourceGroup, '-p', file], undefined)

      expect(result.code).toBe(2)
      expect(result.err).toHaveLength(1)
      expect(result.err[0]).toMatch(
        new RegExp(`^Parameter file is not valid JSON: ${escapeRegExp(file)} \\(.+\\)$`),
      )
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })

  it('lists secrets that were not supplied instead of sending an incomplete deployment', async () => {
    const result = await runCli(['-g', resourceGroup, '-p', parametersFile], undefined)

    expect(result.code).toBe(2)
    expect(result.err).toEqual([
      'Missing value for template parameter(s) postgresAdminPassword, metricsToken: add them to the parameter file or pass --set-from-env postgresAdminPassword=ENV_VARIABLE --set-from-env metricsToken=ENV_VARIABLE',
    ])
  })

  it('names the environment variables secrets were supposed to come from, all in one run', async () => {
    const result = await runCli(baseArgs, undefined, {
      env: { AZURE_SUBSCRIPTION_ID: subscriptionId },
    })

    expect(result.code).toBe(2)
    expect(result.err).toEqual([
      '--set-from-env postgresAdminPassword=TEST_PG_PASSWORD, metricsToken=TEST_METRICS_TOKEN: environment variables TEST_PG_PASSWORD, TEST_METRICS_TOKEN are not set or empty',
    ])
    const one = await runCli(baseArgs, undefined, {
      env: { AZURE_SUBSCRIPTION_ID: subscriptionId, TEST_METRICS_TOKEN: 'x'.repeat(32) },
    })
    expect(one.err).toEqual([
      '--set-from-env postgresAdminPassword=TEST_PG_PASSWORD: environment variable TEST_PG_PASSWORD is not set or empty',
    ])
  })

  it('rejects parameters the template does not declare', async () => {
    const result = await runCli([...baseArgs, '--set', 'dockerImgae=typo'], undefined)

    expect(result.code).toBe(2)
    expect(result.err).toEqual(['Unknown template parameter(s): dockerImgae'])
  })

  it('refuses a parameter given twice on the command line, naming it, never its value', async () => {
    const arm = await fakeArm()
    // baseArgs passes metricsToken with --set-from-env: which of the two won was not said. The
    // flags are named in the order given (they were named --set first whatever the order).
    const twice = await runCli([...baseArgs, '--set', 'metricsToken=typed-token-0123456789'], arm)
    expect(twice.code).toBe(2)
    expect(twice.err).toEqual([
      'Parameter metricsToken is given twice on the command line (--set-from-env and --set): give it once, as only one of the values could be deployed.',
    ])
    expect(twice.err.join('\n')).not.toContain('typed-token')
    const again = await runCli([...baseArgs, '--set', 'trustProxy=1', '--set', 'trustProxy=2'], arm)
    expect(again.code).toBe(2)
    expect(again.err).toEqual([
      'Parameter trustProxy is given twice on the command line (--set and --set): give it once, as only one of the values could be deployed.',
    ])
    expect(arm.requests).toEqual([])
    expect(twice.credentialsCreated + again.credentialsCreated).toBe(0)
  })

  // A secret put in the wrong parameter by mistake: the message printed it, naming --set.
  it.each([
    ['webConcurrency', 'an integer'],
    ['autoscaleMaxInstances', 'an integer'],
  ])(
    'never shows the value --set-from-env %s read, naming the flag and the variable',
    async (name, expected) => {
      const arm = await fakeArm()
      const result = await runCli([...baseArgs, '--set-from-env', `${name}=TEST_PG_PASSWORD`], arm)
      expect(result.code).toBe(2)
      expect(result.err).toEqual([
        `--set-from-env ${name}=TEST_PG_PASSWORD expects ${expected}, but environment variable TEST_PG_PASSWORD holds something else (its value is not shown, as it may be a secret)`,
      ])
      expect(arm.requests).toEqual([])
    },
  )

  it('never shows a value read from the environment that the template or the service refuses', async () => {
    const arm = await fakeArm()
    const env = {
      AZURE_SUBSCRIPTION_ID: subscriptionId,
      TEST_PG_PASSWORD: password,
      TEST_METRICS_TOKEN: metricsToken,
      TEST_SECRET: 'S3cretPassw0rd!',
      TEST_NUMBER: '99',
      TEST_WORD: 'deadbeef',
      TEST_VAULT: 'Secret--kv',
      // Each refused for a part the service's message would quote: the scheme, a parameter,
      // the host (requireTLS=false with a user off this machine), the domain as xn--….
      TEST_SMTP_SCHEME: 'secretscheme://u:pw@mail.example.com',
      TEST_SMTP_PARAMETER: 'smtp://u:pw@mail.example.com?secretopt=1',
      TEST_SMTP_HOST: 'smtp://u:pw@secrethost.example.com?requireTLS=false',
      TEST_MAIL_FROM: 'orders@bücher.example',
    }
    const results = await Promise.all(
      [
        ['postgresVersion=TEST_SECRET', 'postgresVersion (from environment variable TEST_SECRET'],
        ['webConcurrency=TEST_NUMBER', 'webConcurrency is out of range (from environment'],
        // TRUST_PROXY has "deadbeef", which is not an IP address: said with --set, not here.
        ['trustProxy=TEST_WORD', 'TRUST_PROXY from environment variable TEST_WORD is not'],
        ['smtpUrl=TEST_SMTP_SCHEME', 'SMTP_URL from environment variable TEST_SMTP_SCHEME is not'],
        ['smtpUrl=TEST_SMTP_PARAMETER', 'SMTP_URL from environment variable TEST_SMTP_PARAMETER'],
        ['smtpUrl=TEST_SMTP_HOST', 'SMTP_URL from environment variable TEST_SMTP_HOST is not'],
        ['mailFrom=TEST_MAIL_FROM', 'MAIL_FROM from environment variable TEST_MAIL_FROM is not'],
        [
          'keyVaultName=TEST_VAULT',
          'keyVaultName from environment variable TEST_VAULT is not a Key Vault name',
          ['--set', 'secretsInKeyVault=true'],
        ],
      ].map(async ([flag, start, more = []]) => ({
        start,
        result: await runCli(
          [...baseArgs, ...(more as string[]), '--set-from-env', flag as string],
          arm,
          { env },
        ),
      })),
    )
    for (const { start, result } of results) {
      expect(result.code).toBe(2)
      expect(result.err.join('\n')).toContain(start)
      expect(result.err.join('\n')).not.toMatch(
        /S3cret|99|deadbeef|secretscheme|secretopt|secrethost|Secret--kv|pw@|bcher/,
      )
    }
    expect(arm.requests).toEqual([])
  })

  it.each([
    [['--resource-group', 'rg-other'], '--resource-group'],
    [['-g', 'rg-other'], '--resource-group'],
    [['--parameters', parametersFile], '--parameters'],
    [['--name', 'other'], '--name'],
    [['--location', 'westeurope', '-l', 'northeurope'], '--location'],
    [['--template', 'arm/azuredeploy.json', '--template', 'arm/azuredeploy.json'], '--template'],
    // A flag without a value: no "values" to choose between.
    [['--what-if', '--what-if'], '--what-if', ''],
    // In the temporary folder: were they taken, the deployment would write one.
    [
      ['--outputs-file', join(tmpdir(), 'a.json'), '--outputs-file', join(tmpdir(), 'b.json')],
      '--outputs-file',
    ],
  ])('refuses %j given twice before any Azure call, naming %s', async (extra, option, why?) => {
    const arm = await fakeArm()
    // Before, the last one won silently: `-g a -g b` deployed to b.
    const result = await runCli([...baseArgs, ...extra], arm)
    expect(result.code).toBe(2)
    expect(result.err).toEqual([
      `${option} is given more than once: give it once${why ?? ', as only one of the values could be used'} (see --help)`,
    ])
    expect(result.credentialsCreated).toBe(0)
    expect(arm.requests).toEqual([])
  })
})

// The service checks its settings at start (src/config.ts): a parameter that becomes one of them
// on every app, and that the service would refuse, would stop every app, production included.
describe('deploy command: the parameters that become app settings', () => {
  const fakeArm = fakeArmPerTest()

  it.each([
    ['abc', 'TRUST_PROXY has "abc", which is not an IP address'],
    ['-1', 'TRUST_PROXY must be true, false, a hop count'],
    ['10.0.0.0/33', 'TRUST_PROXY has "10.0.0.0/33", whose range is not 1 to 32 bits'],
    ['10.0.0.0/8,', 'TRUST_PROXY has an empty entry'],
    [
      '1 ',
      'TRUST_PROXY is "1 ": remove the blank (a space, tab or other white space) before or after 1',
    ],
  ])('stops trustProxy=%s before any Azure call, naming the setting', async (value, reason) => {
    const arm = await fakeArm()
    const result = await runCli([...baseArgs, '--set', `trustProxy=${value}`], arm)
    expect(result.code).toBe(2)
    expect(result.err).toHaveLength(1)
    expect(result.err[0]).toContain(`The apps would refuse to start: ${reason}`)
    expect(result.err[0]).toContain('trustProxy is TRUST_PROXY')
    expect(result.credentialsCreated).toBe(0)
    expect(arm.requests).toEqual([])
  })

  it('stops a metricsToken of blanks, never showing it', async () => {
    const arm = await fakeArm()
    const blank = ' \t'.repeat(10)
    const result = await runCli(baseArgs, arm, {
      env: {
        AZURE_SUBSCRIPTION_ID: subscriptionId,
        TEST_PG_PASSWORD: password,
        TEST_METRICS_TOKEN: blank,
      },
    })
    expect(result.code).toBe(2)
    expect(result.err).toHaveLength(1)
    expect(result.err[0]).toMatch(
      /^The apps would refuse to start: METRICS_TOKEN .*metricsToken is METRICS_TOKEN/,
    )
    expect(result.err[0]).not.toContain(blank)
    expect(arm.requests).toEqual([])
  })

  it.each(['2', 'true', '10.0.0.0/8, 192.168.1.10'])('deploys trustProxy=%s', async (value) => {
    const arm = await fakeArm()
    const result = await runCli([...baseArgs, '--set', `trustProxy=${value}`], arm)
    expect(result.err).toEqual([])
    expect(result.code).toBe(0)
  })
})

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
}
