import { execFileSync } from 'node:child_process'
import { readFileSync, writeFileSync } from 'node:fs'
import path from 'node:path'

/** What test/bench/wrk/report.lua prints (latencies in ms, duration in µs). */
export interface WrkResult {
  requests: number
  duration_us: number
  /** connect, read, write errors and timeouts (wrk's 2 s). */
  errors: number
  /** 4xx/5xx and whatever a script's response function found wrong. */
  unexpected: number
  p50: number
  p90: number
  p99: number
  /** The 99.9th percentile (issue 19 asks for it on the flow). */
  p999: number
  max: number
}

/** wrk's threads in every run: one per core of the 2-core machines these figures come from. */
const wrkThreads = 2

/**
 * wrk (2 threads) against `url` with one of the checkout `dir`'s test/bench/wrk scripts, run
 * from `dir` (the scripts load their helpers by relative path). With `rate` (requests a second
 * in all) the requests arrive at that constant rate (report.lua's delay()), else as fast as the
 * connections allow. Throws when wrk printed no result line.
 */
export function runWrkScript(
  dir: string,
  url: string,
  script: string,
  scriptArgs: string[],
  {
    connections,
    duration,
    rate,
  }: { connections: number | string; duration: number | string; rate?: number },
): WrkResult {
  const out = execFileSync(
    'wrk',
    [
      `-t${wrkThreads}`,
      `-c${connections}`,
      `-d${duration}s`,
      '-s',
      `test/bench/wrk/${script}`,
      url,
      '--',
      ...scriptArgs,
    ],
    {
      encoding: 'utf8',
      cwd: dir,
      env: rate ? { ...process.env, WRK_THREAD_RATE: String(rate / wrkThreads) } : process.env,
    },
  )
  const json = /^WRK_JSON (.*)$/m.exec(out)?.[1]
  if (!json) throw new Error(`wrk printed no result for ${script} on ${url}:\n${out}`)
  return JSON.parse(json) as WrkResult
}

/** Requests per second of a wrk run. */
export const rpsOf = (r: WrkResult) => Math.round(r.requests / (r.duration_us / 1e6))

/** A file of paths, one per line, in `folder`, for paths.lua. */
export function pathsFile(folder: string, name: string, paths: string[]): string {
  const file = path.join(folder, `${name}.txt`)
  writeFileSync(file, `${paths.join('\n')}\n`)
  return file
}

/** `K=V` arguments (`--a-env`, `--b-env`) as an environment. Throws on one without `=`. */
export const parseEnv = (list: string[]): Record<string, string> =>
  Object.fromEntries(
    list.map((kv) => {
      const i = kv.indexOf('=')
      if (i < 1) throw new Error(`--a-env/--b-env take K=V, not ${kv}`)
      return [kv.slice(0, i), kv.slice(i + 1)]
    }),
  )

const clockTicks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim())

/**
 * CPU seconds (user + system, from /proc/<pid>/stat) each of `pids` has used so far; gone
 * processes are left out. The difference over a run, per request, does not count the time a
 * process waited for a core, so it moves far less with the machine's load than req/s.
 */
/** A process and its children (cluster workers). */
export function processTree(pid: number): number[] {
  const pids = [pid]
  try {
    pids.push(
      ...execFileSync('pgrep', ['-P', String(pid)], { encoding: 'utf8' })
        .split('\n')
        .filter(Boolean)
        .map(Number),
    )
  } catch {}
  return pids
}

export function cpuSeconds(pids: number[]): Map<number, number> {
  const used = new Map<number, number>()
  for (const pid of pids) {
    try {
      // Fields after the command's closing parenthesis: utime and stime are the 12th and 13th.
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
      used.set(pid, (Number(fields[11]) + Number(fields[12])) / clockTicks)
    } catch {}
  }
  return used
}

/** CPU seconds used between two cpuSeconds readings (a process new in `after` counts whole). */
export const cpuBetween = (before: Map<number, number>, after: Map<number, number>) =>
  [...after].reduce((sum, [pid, s]) => sum + s - (before.get(pid) ?? 0), 0)

/**
 * The Node flags `npm start` runs the service with, from the checkout `dir`'s package.json (its
 * start script is their one definition; test/deploy/layout.test.ts holds the Dockerfile's CMD and
 * the other npm scripts to it), e.g. `['--max-semi-space-size=8', '--max-old-space-size=192',
 * '--liftoff-only']`. Benches start the service with these, so they measure what production runs.
 */
export function serviceNodeFlags(dir = '.'): string[] {
  const pkg = JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8'))
  return (pkg.scripts.start as string).split(/\s+/).filter((word) => word.startsWith('--'))
}

/**
 * The environment a bench runs the service in, over `process.env`: production, one worker, logs
 * at warn, no rate limit (the load comes from one address), on loopback.
 */
export const benchServerEnv = (): NodeJS.ProcessEnv => ({
  ...process.env,
  NODE_ENV: 'production',
  LOG_LEVEL: 'warn',
  RATE_LIMIT_MAX: '0',
  HOST: '127.0.0.1',
  WEB_CONCURRENCY: '1',
})
