import { execFileSync } from 'node:child_process'
import { writeFileSync } from 'node:fs'
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
  max: number
}

/**
 * wrk (2 threads) against `url` with one of the checkout `dir`'s test/bench/wrk scripts, run
 * from `dir` (the scripts load their helpers by relative path). Throws when wrk printed no
 * result line.
 */
export function runWrkScript(
  dir: string,
  url: string,
  script: string,
  scriptArgs: string[],
  { connections, duration }: { connections: number | string; duration: number | string },
): WrkResult {
  const out = execFileSync(
    'wrk',
    [
      '-t2',
      `-c${connections}`,
      `-d${duration}s`,
      '-s',
      `test/bench/wrk/${script}`,
      url,
      '--',
      ...scriptArgs,
    ],
    { encoding: 'utf8', cwd: dir },
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
