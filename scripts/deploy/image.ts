import { DeployError } from './errors.ts'
import type { ParameterValues } from './parameters.ts'

/**
 * The image arm/azuredeploy.parameters.json ships with: a placeholder, which no registry holds.
 * An image under this owner is never a real release.
 */
export const placeholderImagePrefix = 'ghcr.io/your-org/'

/** The image parameters, and what each one's image runs in (for the messages). */
export const imageParameters = { dockerImage: 'production', stagingDockerImage: 'the staging slot' }

export type ImageParameter = keyof typeof imageParameters

/**
 * Stops a deployment that would send dockerImage or stagingDockerImage (those of `names`) as the
 * parameters file's placeholder. ARM takes any text, and the template writes dockerImage to
 * production, its slot and the dispatch app: the apps would point at an image that does not exist
 * and stop serving once they restart. Called for the values given on the command line before any
 * Azure call, and for the file's values once live-images.ts found no app to keep the image of
 * (the first deployment). A value held in Key Vault (a `reference`) is not known here and not
 * checked.
 * Throws DeployError (exit 2) naming the parameter and what to pass instead.
 */
export function checkImageParameters(
  parameters: ParameterValues,
  names: readonly ImageParameter[],
): void {
  for (const name of names) {
    const image = parameters[name]?.value
    if (typeof image !== 'string' || !image.trim().startsWith(placeholderImagePrefix)) continue
    throw new DeployError(
      `${name} is ${image}, the parameters file's placeholder: no such image exists, and deploying it would leave production, its staging slot and the dispatch app without an image to run. Pass the image to run: --set ${name}=ghcr.io/<owner>/<repo>:sha-<commit>; once ${imageParameters[name]} exists, a run without --set ${name}=… keeps the image it runs (docs/deployment.md, "Deploying from your machine").`,
    )
  }
}
