import { spawnSync } from 'node:child_process'
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, describe, expect, it } from 'vitest'

// k6/run.sh without k6 says how to get it, and gives the `docker run` that does what it would
// have done: that command once hard-coded BASE_URL=http://localhost:3000 and passed no other
// variable, so a run against another address (or at another RATE) went to the wrong place.

const script = fileURLToPath(new URL('../../k6/run.sh', import.meta.url))
const k6Folder = path.dirname(script)
const scratch = mkdtempSync(path.join(tmpdir(), 'k6-run-'))
afterAll(() => rmSync(scratch, { recursive: true, force: true }))

// A PATH of the tools the script uses and nothing else, so no k6 is found whatever is installed.
const bin = path.join(scratch, 'bin')
const tools = ['bash', 'cat', 'date', 'dirname', 'grep', 'sed', 'sort', 'basename', 'mkdir']
mkdirSync(bin)
for (const tool of tools) {
  const found = (process.env.PATH ?? '')
    .split(path.delimiter)
    .map((dir) => path.join(dir, tool))
    .find((file) => existsSync(file))
  if (!found) throw new Error(`${tool} is not on PATH`)
  symlinkSync(found, path.join(bin, tool))
}
// A docker that prints its arguments, one a line, to run the printed command.
const fakeDocker = path.join(scratch, 'docker-bin')
mkdirSync(fakeDocker)
writeFileSync(path.join(fakeDocker, 'docker'), '#!/bin/sh\nprintf "%s\\n" "$@"\n')
chmodSync(path.join(fakeDocker, 'docker'), 0o755)

/** run.sh's exit code and the docker command of its hint, lines joined as the shell joins them. */
function withoutK6(args: string[], env: Record<string, string>) {
  const run = spawnSync(path.join(bin, 'bash'), [script, ...args], {
    env: { PATH: bin, ...env },
    cwd: scratch,
    encoding: 'utf8',
  })
  const lines = run.stderr.split('\n')
  const from = lines.findIndex((l) => l.startsWith('Or run it with Docker'))
  const to = lines.findIndex((l, i) => i > from && l === '')
  return { code: run.status, stderr: run.stderr, hint: lines.slice(from + 1, to).join('\n') }
}

/** The arguments docker is given when the hint is run by a shell. */
function dockerArgs(hint: string): string[] {
  const run = spawnSync(path.join(bin, 'bash'), ['-c', hint], {
    env: { PATH: `${fakeDocker}${path.delimiter}${bin}` },
    cwd: scratch,
    encoding: 'utf8',
  })
  expect(run.status, run.stderr).toBe(0)
  return run.stdout.trimEnd().split('\n')
}

describe('k6/run.sh without k6', () => {
  it("gives a docker command with this run's BASE_URL, variables and k6 arguments", () => {
    const summary = path.join(scratch, 'my results')
    const run = withoutK6(['load', '--quiet'], {
      BASE_URL: 'http://localhost:4400',
      RATE: '300',
      DURATION: '5m',
      THINK_TIME: '',
      SUMMARY_DIR: summary,
      UNRELATED: 'x',
    })
    expect(run.code, run.stderr).toBe(1)
    expect(run.stderr).toContain('error: k6 is not installed')
    expect(run.stderr).not.toContain('localhost:3000')
    const args = dockerArgs(run.hint)
    expect(existsSync(summary)).toBe(true) // the hint's mkdir -p
    const env = args.flatMap((a, i) => (args[i - 1] === '-e' ? [a] : []))
    expect(env).toEqual([
      'SUMMARY_DIR=/summary',
      'BASE_URL=http://localhost:4400',
      'DURATION=5m',
      'RATE=300',
    ])
    const mounts = args.flatMap((a, i) => (args[i - 1] === '-v' ? [a] : []))
    expect(mounts).toEqual([`${k6Folder}:/k6:ro`, `${summary}:/summary`])
    expect(args.slice(-4)).toEqual(['grafana/k6', 'run', '--quiet', '/k6/load.js'])
  })

  it('without BASE_URL: the default, http://localhost:3000, and a summary folder per run', () => {
    const run = withoutK6([], {})
    expect(run.code, run.stderr).toBe(1)
    const args = dockerArgs(run.hint)
    expect(args).toContain('BASE_URL=http://localhost:3000')
    const mounts = args.flatMap((a, i) => (args[i - 1] === '-v' ? [a] : []))
    const summary = (mounts[1] ?? '').replace(/:\/summary$/, '')
    const relative = path.relative(k6Folder, summary)
    // Made by the hint's mkdir -p (k6/results/ is ignored by git); removed only from there.
    if (/^results\/./.test(relative)) rmSync(summary, { recursive: true, force: true })
    expect(relative).toMatch(/^results\/smoke-\d{8}T\d{6}Z$/)
    expect(args.slice(-3)).toEqual(['grafana/k6', 'run', '/k6/smoke.js'])
  })
})
