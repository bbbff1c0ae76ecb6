import { execFileSync } from 'node:child_process'
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { parse } from 'yaml'

// CD's shell steps, run for real by bash as GitHub would run them, in order, with
// `az`, `curl`, `npm`, `jq`, `docker` and `sleep` replaced by scripts that answer like Azure would and
// record what they were asked. This checks the release's behaviour, not just its wording:
// production keeps its image, nothing is swapped before the new build answers in the slot,
// a production that does not come up is swapped back, and an error reading production stops
// the release instead of skipping the slot.

interface Step {
  name?: string
  id?: string
  if?: string
  uses?: string
  run?: string
  env?: Record<string, string>
}

const root = new URL('../../', import.meta.url)
const cd = parse(readFileSync(new URL('.github/workflows/cd.yml', root), 'utf8')) as {
  jobs: Record<'image' | 'deploy', { env?: Record<string, string>; steps: Step[] }>
}

const template = JSON.parse(readFileSync(new URL('arm/azuredeploy.json', root), 'utf8')) as {
  parameters: Record<string, { type: string; defaultValue?: unknown }>
}
const parameterFile = JSON.parse(
  readFileSync(new URL('arm/azuredeploy.parameters.json', root), 'utf8'),
) as { parameters: Record<string, unknown> }

const HEAD = '3f2c1ab9d0e4c5f60718293a4b5c6d7e8f901234'
const IMAGE = `ghcr.io/acme/order-service:sha-${HEAD}`
const RUNNING = 'ghcr.io/acme/order-service:sha-0000000000000000000000000000000000000000'

const stubs: Record<string, string> = {
  // Records every call; answers from the scenario's files in $STUB.
  az: `#!/bin/bash
echo "az $*" >> "$STUB/calls"
[ -f "$STUB/az-fails" ] && { echo "ERROR: token expired" >&2; exit 1; }
case "$*" in
  "webapp list"*) cat "$STUB/found" ;;
  "webapp config show"*) echo "DOCKER|$RUNNING_IMAGE" ;;
  "webapp show"*"--slot staging"*) echo "orders-web-prod-staging.azurewebsites.net" ;;
  "webapp show"*) echo "orders-web-prod.azurewebsites.net" ;;
  "webapp deployment slot swap"*) : ;;
  "webapp config set"*) : ;;
  *) echo "unexpected az $*" >&2; exit 2 ;;
esac`,
  // Answers each host from its list of bodies, one per call (the last one repeats); an empty
  // line is a refused connection (exit 7), as curl -f fails. In bash alone, no grep, sed or wc:
  // a slot that never answers is polled 120 times, and each process started cost the file
  // seconds on a busy machine.
  curl: `#!/bin/bash
url="\${@: -1}"; host=\${url#https://}; host=\${host%%/*}
echo "curl $url" >> "$STUB/calls"
mapfile -t calls < "$STUB/calls"
n=0; for call in "\${calls[@]}"; do [[ $call == "curl https://$host/"* ]] && n=$((n + 1)); done
mapfile -t bodies < "$STUB/$host"; [ "$n" -gt "\${#bodies[@]}" ] && n=\${#bodies[@]}
body=\${bodies[n - 1]}
[ -z "$body" ] && exit 7
printf '%s' "$body"`,
  // npm run deploy -- … --outputs-file FILE writes the deployment's outputs there, as the
  // deploy command does (test/deploy/deploy.test.ts); here they come from the scenario. For
  // each --set-from-env NAME=VAR it records the value VAR holds in the step's environment.
  npm: `#!/bin/bash
echo "npm $*" >> "$STUB/calls"
while [ $# -gt 0 ]; do
  [ "$1" = --outputs-file ] && cp "$STUB/outputs.json" "$2"
  if [ "$1" = --set-from-env ]; then
    variable=\${2#*=}
    echo "env \${2%%=*}=\${!variable}" >> "$STUB/calls"
  fi
  shift
done
exit 0`,
  // Only what the workflow asks: jq -r '.a.b' FILE, or '.a.b // ""' (a path, a fallback).
  jq: `#!/bin/bash
exec node -e '
const [expression, file] = process.argv.slice(1)
const [path, fallback] = expression.split(" // ")
let value = JSON.parse(require("fs").readFileSync(file, "utf8"))
for (const key of path.split(".").filter(Boolean)) value = value?.[key]
console.log(value ?? (fallback === undefined ? null : JSON.parse(fallback)))' "$2" "$3"`,
  sleep: '#!/bin/bash\n:',
  docker: `#!/bin/bash
echo "docker $*" >> "$STUB/calls"`,
}

let dir: string

beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'cd-steps-'))
  for (const [name, text] of Object.entries(stubs)) {
    writeFileSync(path.join(dir, name), text)
    chmodSync(path.join(dir, name), 0o755)
  }
  writeFileSync(path.join(dir, 'calls'), '')
})
afterEach(() => rmSync(dir, { recursive: true, force: true }))

const ready = (revision: string) => JSON.stringify({ status: 'ready', revision })

const DISPATCH_APP = 'orders-web-prod-dispatch'

/**
 * Each host's answers to /readyz, one per call, whether the web app exists already, and the
 * dispatch app's answers (undefined: the template deployed none, webhookDelivery=inWebApp).
 */
function scenario(s: {
  staging: string[]
  production: string[]
  dispatcher?: string[]
  exists?: boolean
  azFails?: boolean
}) {
  writeFileSync(
    path.join(dir, 'orders-web-prod-staging.azurewebsites.net'),
    `${s.staging.join('\n')}\n`,
  )
  writeFileSync(path.join(dir, 'orders-web-prod.azurewebsites.net'), `${s.production.join('\n')}\n`)
  writeFileSync(path.join(dir, 'found'), s.exists === false ? '0\n' : '1\n')
  if (s.azFails) writeFileSync(path.join(dir, 'az-fails'), '')
  // The template's outputs, as --outputs-file has them (an output whose condition is false is absent).
  const outputs: Record<string, string> = {
    siteUrl: 'https://orders-web-prod.azurewebsites.net',
    dispatchAppName: s.dispatcher ? DISPATCH_APP : '',
  }
  if (s.dispatcher) {
    outputs.dispatchUrl = `https://${DISPATCH_APP}.azurewebsites.net`
    writeFileSync(
      path.join(dir, `${DISPATCH_APP}.azurewebsites.net`),
      `${s.dispatcher.join('\n')}\n`,
    )
  }
  writeFileSync(path.join(dir, 'outputs.json'), JSON.stringify(outputs))
}

/** The `if` conditions the deploy job uses, as GitHub evaluates them once a step failed. */
const conditions: Record<string, (outcomes: Record<string, string>) => boolean> = {
  // A failure after the swap went through.
  "failure() && steps.swap.outcome == 'success'": (o) => o.swap === 'success',
  // A failure once the dispatcher was moved (its step ran, whether it passed or not).
  "failure() && (steps.dispatcher.outcome == 'success' || steps.dispatcher.outcome == 'failure')": (
    o,
  ) => o.dispatcher === 'success' || o.dispatcher === 'failure',
}

/** `${{ a.b.c }}` replaced from `context`; an expression it does not know is an error. */
function expand(text: string, context: Record<string, string>): string {
  return text.replace(/\$\{\{\s*([\w.-]+)\s*\}\}/g, (_m, name: string) => {
    const value = context[name]
    if (value === undefined) throw new Error(`no value for \${{ ${name} }}`)
    return value
  })
}

/**
 * Runs a job's `run` steps as GitHub does: each under `bash -e`, skipped after a
 * failure unless its `if` says otherwise, outputs through $GITHUB_OUTPUT. Returns which steps
 * ran and how they ended.
 */
function runJob(
  name: 'image' | 'deploy',
  secrets: Record<string, string> = {},
): {
  outcomes: Record<string, 'success' | 'failure' | 'skipped'>
  calls: string[]
} {
  const context: Record<string, string> = {
    // A secret the environment does not have comes to '', as on GitHub.
    'secrets.SMTP_URL': '',
    ...secrets,
    'github.event.workflow_run.head_sha': HEAD,
    'vars.AZURE_RESOURCE_GROUP': 'rg-orders',
    'vars.AZURE_SUBSCRIPTION_ID': '00000000-0000-0000-0000-000000000000',
    'secrets.POSTGRES_ADMIN_PASSWORD': 'not-a-real-password',
    'secrets.METRICS_TOKEN': 'not-a-real-metrics-token',
    'needs.image.outputs.image': IMAGE,
    'github.repository': 'Acme/Order-Service',
  }
  const job = cd.jobs[name]
  const jobEnv = Object.fromEntries(
    Object.entries(job.env ?? {}).map(([k, v]) => [k, expand(v, context)]),
  )
  const outcomes: Record<string, 'success' | 'failure' | 'skipped'> = {}
  let failed = false
  for (const [index, step] of job.steps.entries()) {
    if (!step.run) continue // actions (checkout, setup-node, azure/login) do not run here
    const label = step.id ?? step.name ?? `step ${index}`
    let runs = !failed
    if (step.if !== undefined) {
      const condition = conditions[step.if]
      if (!condition) throw new Error(`unknown condition ${step.if}`)
      runs = failed && condition(outcomes)
    }
    if (!runs) {
      outcomes[label] = 'skipped'
      continue
    }
    const output = path.join(dir, `output-${index}`)
    writeFileSync(output, '')
    const env = {
      PATH: `${dir}:${process.env.PATH}`,
      STUB: dir,
      RUNNING_IMAGE: RUNNING,
      GITHUB_OUTPUT: output,
      RUNNER_TEMP: dir,
      ...jobEnv,
      ...Object.fromEntries(
        Object.entries(step.env ?? {}).map(([k, v]) => [k, expand(v, context)]),
      ),
    }
    try {
      execFileSync('bash', ['--noprofile', '--norc', '-e', '-c', step.run], {
        cwd: new URL('.', root).pathname,
        env,
        stdio: 'pipe',
      })
      outcomes[label] = 'success'
    } catch (err) {
      if (process.env.DEBUG_CD) console.error(label, String((err as { stderr?: Buffer }).stderr))
      outcomes[label] = 'failure'
      failed = true
    }
    for (const line of readFileSync(output, 'utf8').split('\n').filter(Boolean)) {
      const at = line.indexOf('=')
      if (step.id) context[`steps.${step.id}.outputs.${line.slice(0, at)}`] = line.slice(at + 1)
    }
  }
  const calls = readFileSync(path.join(dir, 'calls'), 'utf8').split('\n').filter(Boolean)
  return { outcomes, calls }
}

const swaps = (calls: string[]) =>
  calls.filter((c) => c.startsWith('az webapp deployment slot swap'))
/** The images the dispatch app was given, in order. */
const dispatcherImages = (calls: string[]) =>
  calls
    .filter((c) => c.startsWith(`az webapp config set -g rg-orders -n ${DISPATCH_APP} `))
    .map((c) => /--linux-fx-version DOCKER\|(\S+)/.exec(c)?.[1])
const deployCall = (calls: string[]) => calls.find((c) => c.startsWith('npm run deploy')) ?? ''

describe("CD's deploy job, run by bash against a stand-in Azure", () => {
  it('releases to the slot, waits for the new revision there, swaps once, checks production', () => {
    scenario({
      // The old build answers first, then nothing while the new one starts, then the new one.
      staging: [ready('0000000'), '', ready(HEAD)],
      production: [ready(HEAD)],
    })
    const { outcomes, calls } = runJob('deploy')
    expect(Object.values(outcomes).filter((o) => o === 'failure')).toEqual([])
    // Production is handed the image it runs; only the slot gets the release.
    expect(deployCall(calls)).toContain(`--set dockerImage=${RUNNING}`)
    expect(deployCall(calls)).toContain(`--set stagingDockerImage=${IMAGE}`)
    const stagingChecks = calls.filter((c) => c.includes('-staging.azurewebsites.net/readyz'))
    expect(stagingChecks).toHaveLength(3)
    expect(swaps(calls)).toHaveLength(1)
    // The swap comes after the slot answered with the new revision.
    expect(calls.indexOf(swaps(calls)[0] as string)).toBeGreaterThan(
      calls.lastIndexOf(stagingChecks.at(-1) as string),
    )
  })

  // 120 polls, each a few processes: over a minute when the machine is loaded (load 13 on 2 cores).
  it('passes every template parameter without a default, secrets only from the environment', () => {
    scenario({ staging: [ready(HEAD)], production: [ready(HEAD)] })
    const { calls } = runJob('deploy')
    const call = deployCall(calls)
    const required = Object.entries(template.parameters).filter(
      ([name, definition]) =>
        !('defaultValue' in definition) && !(name in parameterFile.parameters),
    )
    // The admin password and the token /metrics asks for, at least (arm-dispatch.test.ts).
    expect(required.map(([name]) => name)).toEqual(
      expect.arrayContaining(['postgresAdminPassword', 'metricsToken']),
    )
    for (const [name, definition] of required) {
      if (definition.type.toLowerCase().startsWith('secure')) {
        expect(call, name).toMatch(new RegExp(`--set-from-env ${name}=[A-Z_]+( |$)`))
        // The step's environment holds the secret, so the deploy command gets a value.
        expect(calls.find((c) => c.startsWith(`env ${name}=`)) ?? '', name).toMatch(/=not-a-real/)
      } else {
        expect(call, name).toMatch(new RegExp(`--set ${name}=\\S`))
      }
    }
    expect(call).not.toContain('not-a-real')
  })

  it('passes smtpUrl from the secret SMTP_URL when it is set, and leaves it to its default (off) when not', () => {
    scenario({ staging: [ready(HEAD)], production: [ready(HEAD)] })
    const smtpUrl = 'smtps://mailer:not-a-real-smtp-password@smtp.example.com:465'
    const { outcomes, calls } = runJob('deploy', { 'secrets.SMTP_URL': smtpUrl })
    expect(Object.values(outcomes).filter((o) => o === 'failure')).toEqual([])
    expect(deployCall(calls)).toMatch(/--set-from-env smtpUrl=SMTP_URL --outputs-file /)
    expect(calls).toContain(`env smtpUrl=${smtpUrl}`)
    expect(deployCall(calls)).not.toContain('not-a-real-smtp-password')
    expect(template.parameters.smtpUrl).toMatchObject({ type: 'securestring', defaultValue: '' })

    writeFileSync(path.join(dir, 'calls'), '')
    const unset = runJob('deploy')
    expect(Object.values(unset.outcomes).filter((o) => o === 'failure')).toEqual([])
    expect(deployCall(unset.calls)).toContain('--set-from-env metricsToken=METRICS_TOKEN')
    expect(deployCall(unset.calls)).not.toContain('smtpUrl')
  })

  it('never swaps when the slot does not answer with the new revision', {
    timeout: 180_000,
  }, () => {
    scenario({
      staging: [ready('0000000')],
      production: [ready('0000000')],
      dispatcher: [ready('0000000')],
    })
    const { outcomes, calls } = runJob('deploy')
    expect(swaps(calls)).toEqual([])
    expect(Object.values(outcomes)).toContain('failure')
    expect(calls.filter((c) => c.includes('-staging.azurewebsites.net/readyz'))).toHaveLength(120)
    // The dispatcher was never moved, so it is not moved back either.
    expect(dispatcherImages(calls)).toEqual([])
    expect(outcomes.dispatcher).toBe('skipped')
  })

  it('swaps back when production does not come up on the new revision after the swap', () => {
    scenario({ staging: [ready(HEAD)], production: [''] })
    const { outcomes, calls } = runJob('deploy')
    expect(outcomes.swap).toBe('success')
    expect(swaps(calls)).toHaveLength(2)
    expect(swaps(calls)[1]).toContain('--slot staging --target-slot production')
    expect(Object.values(outcomes).at(-1)).toBe('success')
  })

  it('gives both slots the new image only when the web app does not exist yet', () => {
    scenario({ staging: [ready(HEAD)], production: [ready(HEAD)], exists: false })
    const { calls } = runJob('deploy')
    expect(deployCall(calls)).toContain(`--set dockerImage=${IMAGE}`)
    expect(calls.some((c) => c.startsWith('az webapp config show'))).toBe(false)
  })

  it('stops, deploying nothing, when reading what production runs fails', () => {
    scenario({ staging: [ready(HEAD)], production: [ready(HEAD)], azFails: true })
    const { outcomes, calls } = runJob('deploy')
    expect(outcomes.current).toBe('failure')
    expect(deployCall(calls)).toBe('')
    expect(swaps(calls)).toEqual([])
  })
})

describe("CD's deploy job and the dispatch-only app (webhookDelivery=separate)", () => {
  it('moves the dispatcher to the release once the slot is ready, checks it, then swaps', () => {
    scenario({
      staging: [ready(HEAD)],
      production: [ready(HEAD)],
      // The old build answers, then nothing while the new container starts, then the new one.
      dispatcher: [ready('0000000'), '', ready(HEAD)],
    })
    const { outcomes, calls } = runJob('deploy')
    expect(Object.values(outcomes).filter((o) => o === 'failure')).toEqual([])
    // The deployment asked for its outputs, where the dispatch app's name comes from.
    expect(deployCall(calls)).toMatch(/--outputs-file \S+arm-outputs\.json/)
    expect(dispatcherImages(calls)).toEqual([IMAGE])
    const moved = calls.findIndex((c) =>
      c.startsWith(`az webapp config set -g rg-orders -n ${DISPATCH_APP}`),
    )
    const dispatcherChecks = calls.filter((c) =>
      c.includes(`${DISPATCH_APP}.azurewebsites.net/readyz`),
    )
    expect(dispatcherChecks).toHaveLength(3)
    const lastStagingCheck = calls.findLastIndex((c) =>
      c.includes('-staging.azurewebsites.net/readyz'),
    )
    const swap = calls.indexOf(swaps(calls)[0] as string)
    // Slot ready → dispatcher moved → dispatcher ready on the release → swap.
    expect(lastStagingCheck).toBeLessThan(moved)
    expect(calls.lastIndexOf(dispatcherChecks.at(-1) as string)).toBeLessThan(swap)
    expect(swaps(calls)).toHaveLength(1)
  })

  it('stops before the swap and puts the dispatcher back when it does not come up on the release', {
    timeout: 180_000,
  }, () => {
    scenario({ staging: [ready(HEAD)], production: [ready('0000000')], dispatcher: [''] })
    const { outcomes, calls } = runJob('deploy')
    expect(outcomes.dispatcher).toBe('failure')
    expect(swaps(calls)).toEqual([])
    expect(dispatcherImages(calls)).toEqual([IMAGE, RUNNING])
    expect(
      calls.filter((c) => c.includes(`${DISPATCH_APP}.azurewebsites.net/readyz`)),
    ).toHaveLength(120)
  })

  it('swaps back and puts the dispatcher back when production does not come up after the swap', () => {
    scenario({ staging: [ready(HEAD)], production: [''], dispatcher: [ready(HEAD)] })
    const { outcomes, calls } = runJob('deploy')
    expect(outcomes.swap).toBe('success')
    expect(swaps(calls)).toHaveLength(2)
    expect(dispatcherImages(calls)).toEqual([IMAGE, RUNNING])
    // Web app first, then the dispatcher: both end on the release production ran before.
    const putBack = calls.findLastIndex((c) => c.includes(`--linux-fx-version DOCKER|${RUNNING}`))
    expect(putBack).toBeGreaterThan(calls.lastIndexOf(swaps(calls)[1] as string))
    expect(Object.values(outcomes).at(-1)).toBe('success')
  })

  it('with webhookDelivery=inWebApp (no dispatch app) releases as before and touches no other app', () => {
    scenario({ staging: [ready(HEAD)], production: [''] })
    const { outcomes, calls } = runJob('deploy')
    expect(outcomes.dispatcher).toBe('success')
    expect(calls.filter((c) => c.startsWith('az webapp config set'))).toEqual([])
    // Production did not come up: swapped back; the dispatcher roll-back step has nothing to do.
    expect(swaps(calls)).toHaveLength(2)
  })
})

describe("CD's image job, its shell steps", () => {
  it('names the image by the tested commit, in lower case, and pushes the scanned one', () => {
    const { outcomes, calls } = runJob('image')
    expect(Object.values(outcomes)).toEqual(['success', 'success'])
    const image = `ghcr.io/acme/order-service:sha-${HEAD}`
    expect(calls).toEqual([
      `docker tag order-service:scan ${image}`,
      'docker tag order-service:scan ghcr.io/acme/order-service:latest',
      `docker push ${image}`,
      'docker push ghcr.io/acme/order-service:latest',
    ])
  })
})
