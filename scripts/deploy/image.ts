import { DeployError } from './errors.ts'
import type { ParameterValues } from './parameters.ts'

/**
 * The image arm/azuredeploy.parameters.json ships with: a placeholder, which no registry holds.
 * An image under this owner is never a real release.
 */
export const placeholderImagePrefix = 'ghcr.io/your-org/'

/**
 * Stops a deployment whose dockerImage or stagingDockerImage is still the parameters file's
 * placeholder, before any Azure call. ARM takes any text, and the template writes dockerImage to
 * production, its slot and the dispatch app: a `npm run deploy` run with the parameters file and
 * no `--set dockerImage=…` (the first one, or any later one, say to change a scale limit) would
 * point them all at an image that does not exist, and production would stop serving once it
 * restarts. A value held in Key Vault (a `reference`) is not known here and not checked.
 * Throws DeployError (exit 2) naming the parameter and what to pass instead.
 */
export function checkImageParameters(parameters: ParameterValues): void {
  for (const name of ['dockerImage', 'stagingDockerImage']) {
    const image = parameters[name]?.value
    if (typeof image !== 'string' || !image.trim().startsWith(placeholderImagePrefix)) continue
    throw new DeployError(
      `${name} is ${image}, the parameters file's placeholder: no such image exists, and deploying it would leave production, its staging slot and the dispatch app without an image to run. Pass the image to run: --set ${name}=ghcr.io/<owner>/<repo>:sha-<commit> the first time, afterwards the one production runs now (az webapp config show -g <resource-group> -n <webAppName> --query linuxFxVersion -o tsv, without its DOCKER| prefix) (docs/deployment.md, "Deploying from your machine").`,
    )
  }
}
