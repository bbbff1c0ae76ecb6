import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { TokenCredential } from '@azure/identity'
import { afterEach } from 'vitest'
import type { ArmClientOptions } from '../../scripts/deploy/clients.ts'
import { runDeployCli } from '../../scripts/deploy/run.ts'

// A local stand-in for Azure Resource Manager, and the deploy command run against it
// (test/deploy/deploy.test.ts, test/deploy/deploy-live.test.ts).

export const root = fileURLToPath(new URL('../..', import.meta.url))
export const parametersFile = join(root, 'arm/azuredeploy.parameters.json')
export const subscriptionId = '00000000-0000-4000-8000-000000000001'
export const resourceGroup = 'rg-orders'
export const deploymentName = 'deploy-test'
export const groupPath = `/subscriptions/${subscriptionId}/resourcegroups/${resourceGroup}`
export const deploymentPath = `${groupPath}/providers/Microsoft.Resources/deployments/${deploymentName}`

export interface Scenario {
  resourceGroupExists?: boolean
  templateValid?: boolean
  deploymentSucceeds?: boolean
  /**
   * Resources that already exist, by id (`${groupPath}/providers/…`), as a GET by id answers
   * them; any other resource answers 404 ResourceNotFound. A value that is a number is an
   * HTTP status to answer with instead (e.g. 403).
   */
  existing?: Record<string, unknown>
  /**
   * The images the web app orders-web-prod and its staging slot run (their linuxFxVersion,
   * without `DOCKER|`), answered on their config/web; an app not given does not exist (404).
   */
  running?: { production?: string; staging?: string }
}

export const webAppId = `${groupPath}/providers/Microsoft.Web/sites/orders-web-prod`
/** Where `az webapp config show` (and the deploy command) read the image an app runs. */
export const webConfigId = `${webAppId}/config/web`
export const slotConfigId = `${webAppId}/slots/staging/config/web`

/** A config/web as ARM answers it for an app running `image`. */
export const webConfig = (image: string) => ({
  id: webConfigId,
  name: 'web',
  properties: { linuxFxVersion: `DOCKER|${image}` },
})

interface RecordedRequest {
  method: string
  path: string
  query: URLSearchParams
  authorization: string | undefined
  body: unknown
}

/**
 * The slice of the Azure Resource Manager REST API the deploy command uses,
 * including the long-running-operation handshakes (202 + Location for
 * what-if, 201 + Azure-AsyncOperation for the deployment PUT).
 */
export async function startFakeArm(scenario: Scenario = {}) {
  const {
    resourceGroupExists = true,
    templateValid = true,
    deploymentSucceeds = true,
    running = {},
  } = scenario
  const existing: Record<string, unknown> = {
    ...(running.production ? { [webConfigId]: webConfig(running.production) } : {}),
    ...(running.staging ? { [slotConfigId]: webConfig(running.staging) } : {}),
    ...scenario.existing,
  }
  const requests: RecordedRequest[] = []
  let deploymentPolls = 0
  let whatIfPolls = 0
  let publicUrl = ''

  const server = createServer(async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1')
    const body = await readBody(req)
    const path = url.pathname
    requests.push({
      method: req.method ?? '',
      path,
      query: url.searchParams,
      authorization: req.headers.authorization,
      body,
    })
    if (req.headers.authorization !== 'Bearer fake-token') {
      return send(res, 401, { error: { code: 'AuthenticationFailed', message: 'No token.' } })
    }
    const route = `${req.method} ${path}`

    if (route === `HEAD ${groupPath}`) return send(res, resourceGroupExists ? 204 : 404)
    if (route === `GET ${groupPath}`) {
      return send(res, 200, { id: groupPath, name: resourceGroup, location: 'westeurope' })
    }
    if (route === `PUT ${groupPath}`) {
      const location = (body as { location: string }).location
      return send(res, 201, { id: groupPath, name: resourceGroup, location })
    }
    if (req.method === 'GET' && path.toLowerCase().startsWith(`${groupPath}/providers/`)) {
      const found = Object.entries(existing).find(([id]) => id.toLowerCase() === path.toLowerCase())
      if (typeof found?.[1] === 'number') {
        return send(res, found[1], {
          error: { code: 'AuthorizationFailed', message: `The client may not read ${path}.` },
        })
      }
      if (found) return send(res, 200, found[1])
      if (!path.includes('/providers/Microsoft.Resources/')) {
        return send(res, 404, {
          error: { code: 'ResourceNotFound', message: `The Resource '${path}' was not found.` },
        })
      }
    }
    if (route === `POST ${deploymentPath}/validate`) {
      if (templateValid) {
        return send(res, 200, {
          id: deploymentPath,
          properties: { provisioningState: 'Succeeded' },
        })
      }
      return send(res, 400, {
        error: {
          code: 'InvalidTemplateDeployment',
          message: `The template deployment '${deploymentName}' is not valid according to the validation procedure.\nSee inner errors for details.`,
          details: [
            {
              code: 'SkuNotAvailable',
              message: "The requested size 'P0v3' is not available in location 'westeurope'.",
              target: 'orders-plan-prod',
            },
            {
              code: 'InvalidParameter',
              message: 'Password must contain characters from three of the following categories.',
            },
          ],
        },
      })
    }
    if (route === `POST ${deploymentPath}/whatIf`) {
      return send(res, 202, undefined, {
        location: `${publicUrl}/subscriptions/${subscriptionId}/operationresults/whatif-1?api-version=2026-06-01`,
      })
    }
    if (route === `GET /subscriptions/${subscriptionId}/operationresults/whatif-1`) {
      whatIfPolls += 1
      if (whatIfPolls < 2) return send(res, 202)
      return send(res, 200, whatIfResult)
    }
    if (route === `PUT ${deploymentPath}`) {
      return send(
        res,
        201,
        { id: deploymentPath, name: deploymentName, properties: { provisioningState: 'Accepted' } },
        {
          'azure-asyncoperation': `${publicUrl}${deploymentPath}/operationStatuses/op-1?api-version=2026-06-01`,
        },
      )
    }
    if (route === `GET ${deploymentPath}/operationStatuses/op-1`) {
      deploymentPolls += 1
      if (deploymentPolls < 3) return send(res, 200, { status: 'Running' })
      if (deploymentSucceeds) return send(res, 200, { status: 'Succeeded' })
      return send(res, 200, {
        status: 'Failed',
        error: {
          code: 'DeploymentFailed',
          message: 'At least one resource deployment operation failed.',
        },
      })
    }
    if (route === `GET ${deploymentPath}`) {
      return send(res, 200, deploymentSucceeds ? succeededDeployment : failedDeployment)
    }
    return send(res, 404, { error: { code: 'NotFound', message: `No fake for ${route}` } })
  })

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  // Clients see an https endpoint; see loopbackOverHttp for why.
  publicUrl = `https://127.0.0.1:${port}`
  return {
    url: publicUrl,
    requests,
    routes: () => requests.map((r) => `${r.method} ${r.path}`),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  }
}

const whatIfResult = {
  status: 'Succeeded',
  properties: {
    changes: [
      {
        resourceId: `${groupPath}/providers/Microsoft.Web/sites/orders-web-prod`,
        changeType: 'Modify',
        delta: [
          {
            path: 'properties.siteConfig.linuxFxVersion',
            propertyChangeType: 'Modify',
            before: 'DOCKER|ghcr.io/acme/order-service:old',
            after: 'DOCKER|ghcr.io/acme/order-service:new',
          },
        ],
      },
      {
        resourceId: `${groupPath}/providers/Microsoft.Insights/autoscalesettings/orders-plan-prod-autoscale`,
        changeType: 'Create',
      },
      {
        resourceId: `${groupPath}/providers/Microsoft.DBforPostgreSQL/flexibleServers/orders-pg-prod`,
        changeType: 'NoChange',
      },
    ],
  },
}

const succeededDeployment = {
  id: deploymentPath,
  name: deploymentName,
  properties: {
    provisioningState: 'Succeeded',
    outputs: {
      siteUrl: { type: 'String', value: 'https://orders-web-prod.azurewebsites.net' },
      databaseHost: { type: 'String', value: 'orders-pg-prod.postgres.database.azure.com' },
      dispatchAppName: { type: 'String', value: 'orders-web-prod-dispatch' },
      dispatchUrl: { type: 'String', value: 'https://orders-web-prod-dispatch.azurewebsites.net' },
    },
  },
}

const failedDeployment = {
  id: deploymentPath,
  name: deploymentName,
  properties: {
    provisioningState: 'Failed',
    error: {
      code: 'DeploymentFailed',
      message: 'At least one resource deployment operation failed.',
      details: [
        {
          code: 'Conflict',
          message: 'Website with given name orders-web-prod already exists.',
          target: 'orders-web-prod',
        },
      ],
    },
  },
}

async function readBody(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = []
  for await (const chunk of req) chunks.push(chunk as Buffer)
  const text = Buffer.concat(chunks).toString('utf8')
  return text ? JSON.parse(text) : undefined
}

function send(
  res: ServerResponse,
  status: number,
  body?: unknown,
  headers: Record<string, string> = {},
): void {
  res.writeHead(status, {
    ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    ...headers,
  })
  res.end(body === undefined ? undefined : JSON.stringify(body))
}

/**
 * @azure/core-rest-pipeline's bearer-token policy refuses any non-https URL,
 * whatever allowInsecureConnection says (that flag only unlocks the Node
 * transport). So the clients address https://127.0.0.1:port, the token is
 * attached as in production, and this per-retry policy (which the pipeline
 * runs after the token policy) moves the request onto the plain-http fake and
 * sets allowInsecureConnection for that request alone. Production code never
 * sees this policy, so it stays https-only.
 */
function loopbackOverHttp(): ArmClientOptions {
  return {
    retryOptions: { maxRetries: 0 },
    additionalPolicies: [
      {
        position: 'perRetry',
        policy: {
          name: 'loopbackOverHttp',
          sendRequest: async (request, next) => {
            const original = request.url
            const url = new URL(original)
            if (url.hostname !== '127.0.0.1') throw new Error(`unexpected host ${url.host}`)
            url.protocol = 'http:'
            request.url = url.toString()
            request.allowInsecureConnection = true
            try {
              return await next(request)
            } finally {
              // The LRO poller reuses response.request.url for its final GET,
              // which has to go through the token policy again.
              request.url = original
            }
          },
        },
      },
    ],
  }
}

const fakeCredential: TokenCredential = {
  getToken: async () => ({ token: 'fake-token', expiresOnTimestamp: Date.now() + 3_600_000 }),
}

export async function runCli(
  argv: string[],
  arm: { url: string } | undefined,
  options: { env?: Record<string, string>; credential?: TokenCredential } = {},
) {
  const out: string[] = []
  const err: string[] = []
  let credentialsCreated = 0
  const env = options.env ?? {
    AZURE_SUBSCRIPTION_ID: subscriptionId,
    TEST_PG_PASSWORD: password,
    TEST_METRICS_TOKEN: metricsToken,
  }
  const code = await runDeployCli(argv, env, {
    log: (line) => out.push(line),
    error: (line) => err.push(line),
    createCredential: () => {
      credentialsCreated += 1
      return options.credential ?? fakeCredential
    },
    clientOptions: arm ? { endpoint: arm.url, ...loopbackOverHttp() } : undefined,
    pollIntervalMs: 5,
    // A frozen clock keeps the elapsed-time lines deterministic.
    now: () => Date.UTC(2025, 0, 2, 3, 4, 5),
  })
  return { code, out, err, credentialsCreated }
}

/** The command's arguments but an image: the parameters file's dockerImage is a placeholder. */
export const baseArgsWithoutImage = [
  '--resource-group',
  resourceGroup,
  '--parameters',
  parametersFile,
  '--name',
  deploymentName,
  '--set-from-env',
  'postgresAdminPassword=TEST_PG_PASSWORD',
  '--set-from-env',
  'metricsToken=TEST_METRICS_TOKEN',
]
export const image = 'ghcr.io/acme/os:abc'
export const baseArgs = [...baseArgsWithoutImage, '--set', `dockerImage=${image}`]
export const password = 'p@ss:w/rd#1'
export const metricsToken = 'scrape-token-0123456789abcdef'

export type FakeArm = Awaited<ReturnType<typeof startFakeArm>>

/** Starts a fake ARM endpoint for one test, closed after it (call inside a describe). */
export function fakeArmPerTest(): (scenario?: Scenario) => Promise<FakeArm> {
  let arm: FakeArm | undefined
  afterEach(async () => {
    await arm?.close()
    arm = undefined
  })
  return async (scenario) => {
    arm = await startFakeArm(scenario)
    return arm
  }
}
