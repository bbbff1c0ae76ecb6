import type { TokenCredential } from '@azure/identity'
import { parseDeployArgs, usage } from './args.ts'
import type { ArmClientOptions } from './clients.ts'
import { deploy, prepareDeployment } from './deploy.ts'
import { DeployError } from './errors.ts'
import { describeFailure } from './failure.ts'

export interface CliIo {
  log: (line: string) => void
  error: (line: string) => void
  /** Called only once the arguments, the subscription and the parameters are known to be fine. */
  createCredential: () => TokenCredential
  clientOptions?: ArmClientOptions
  pollIntervalMs?: number
  now?: () => number
}

/** The whole command, minus process globals; returns the exit code. */
export async function runDeployCli(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
  io: CliIo,
): Promise<number> {
  try {
    const parsed = parseDeployArgs(argv, env, new Date(io.now?.() ?? Date.now()))
    if (parsed.help) {
      io.log(usage)
      return 0
    }
    const subscriptionId = env.AZURE_SUBSCRIPTION_ID?.trim()
    if (!subscriptionId) {
      throw new DeployError(
        'AZURE_SUBSCRIPTION_ID is not set: export the id of the subscription to deploy to (az account show --query id -o tsv).',
      )
    }
    // Every local check first: a credential is created (and Azure asked) only for a deployment
    // that can go.
    const prepared = await prepareDeployment(parsed.options, io.log)
    await deploy(
      parsed.options,
      {
        credential: io.createCredential(),
        subscriptionId,
        clientOptions: io.clientOptions,
        log: io.log,
        pollIntervalMs: io.pollIntervalMs,
        now: io.now,
      },
      prepared,
    )
    return 0
  } catch (err) {
    const failure = describeFailure(err)
    io.error(failure.message)
    return failure.exitCode
  }
}
