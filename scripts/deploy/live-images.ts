import type { ResourceManagementClient } from '@azure/arm-resources'
import { DeployError } from './errors.ts'
import { checkImageParameters, type ImageParameter, imageParameters } from './image.ts'
import { isRecord } from './json-file.ts'
import { apiVersionOf, readResource } from './live-sizes.ts'
import type { ParameterValues } from './parameters.ts'
import type { Template } from './template.ts'

/** Where each image parameter's app keeps the image it runs, below the web app's id. */
const configPaths: Record<ImageParameter, { path: string; label: (app: string) => string }> = {
  dockerImage: { path: 'config/web', label: (app) => `web app ${app}` },
  stagingDockerImage: {
    path: 'slots/staging/config/web',
    label: (app) => `staging slot ${app}/staging`,
  },
}

/**
 * Returns the parameters with dockerImage and stagingDockerImage set to the images the web app
 * and its staging slot run now (their linuxFxVersion without `DOCKER|`), read just before the
 * deployment, unless `given` (the names set on the command line) holds the parameter. The
 * parameters file's image is stale as soon as CD releases another: a run from a laptop, say to
 * change a scale limit, would roll production (and the dispatch app, which runs dockerImage) back
 * to it, and the slot would lose the release a swap rolls back to. So the file may leave an image
 * out. An app not there yet (404: the first deployment) gets the value asked for, which must then
 * be given and not be the placeholder. Logs one line per parameter: the image and why (given,
 * kept, first deployment).
 * Throws DeployError: exit 1 when an app cannot be read (deploying blind would replace its image),
 * exit 2 when it runs no container image, or the first deployment has no image or the placeholder.
 */
export async function keepLiveImages(
  resources: ResourceManagementClient,
  target: { subscriptionId: string; resourceGroup: string },
  template: Template,
  parameters: ParameterValues,
  given: ReadonlySet<string>,
  log: (line: string) => void,
): Promise<ParameterValues> {
  const kept: ParameterValues = { ...parameters }
  const app = parameters.webAppName?.value
  const apiVersion = apiVersionOf(template, 'Microsoft.Web/sites')
  for (const name of Object.keys(imageParameters) as ImageParameter[]) {
    if (!(name in template.parameters)) continue
    const asked = parameters[name]?.value ?? template.parameters[name]?.defaultValue
    // Neither in the file (a value or a Key Vault reference) nor defaulted by the template.
    const notGiven = !(name in parameters) && !('defaultValue' in (template.parameters[name] ?? {}))
    if (given.has(name)) {
      log(`${name}: ${describe(asked)} (given on the command line).`)
      continue
    }
    const { path, label } = configPaths[name]
    const id = `subscriptions/${target.subscriptionId}/resourceGroups/${target.resourceGroup}/providers/Microsoft.Web/sites/${app}/${path}`
    const config =
      typeof app === 'string' && apiVersion
        ? await readResource(resources, id, apiVersion, label(app), 'image')
        : undefined
    if (!config) {
      // Left out of the file and without a default in the template (dockerImage): only a
      // deployment with an app to keep the image of may do without one.
      if (notGiven) {
        throw new DeployError(
          `A first deployment needs ${name}: ${imageParameters[name]} does not exist yet, so there is no image to keep. Pass --set ${name}=ghcr.io/<owner>/<repo>:sha-<commit> (or give ${name} in the parameters file).`,
        )
      }
      checkImageParameters(parameters, [name])
      const from = name in parameters ? 'the parameters file' : "the template's default"
      log(
        `${name}: ${describe(asked)} (from ${from}: ${imageParameters[name]} does not exist yet).`,
      )
      continue
    }
    const running = isRecord(config.properties) ? config.properties.linuxFxVersion : undefined
    const image = typeof running === 'string' ? /^DOCKER\|(.+)$/i.exec(running)?.[1] : undefined
    if (!image) {
      throw new DeployError(
        `${label(String(app))} runs no container image (linuxFxVersion ${JSON.stringify(running ?? null)}), so there is none to keep: pass the image to run with --set ${name}=ghcr.io/<owner>/<repo>:sha-<commit>.`,
      )
    }
    kept[name] = { value: image }
    // Said when the file has none: the run deploys an image nobody wrote into it.
    const unset = notGiven ? `, and no ${name} was given` : ''
    log(
      `${name}: ${image} (kept from ${imageParameters[name]}: ${label(String(app))} runs it${unset}; --set ${name}=… deploys another).`,
    )
  }
  return kept
}

/** An image for the log line; empty stagingDockerImage means the slot runs dockerImage. */
function describe(image: unknown): string {
  return typeof image === 'string' && image !== '' ? image : 'empty, the same as dockerImage'
}
