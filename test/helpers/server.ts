import { type ChildProcess, spawn } from 'node:child_process'
import { readdirSync, readFileSync, readlinkSync } from 'node:fs'
import net from 'node:net'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { scanLog } from './log-check.ts'

/** A free TCP port on 127.0.0.1: free now, for the caller to bind right after. */
export async function freePort(): Promise<number> {
  const server = net.createServer()
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', resolve)
  })
  const { port } = server.address() as net.AddressInfo
  await new Promise((resolve) => server.close(resolve))
  return port
}

/**
 * Whether process `pid` holds a socket listening on TCP `port` (Linux: /proc/net/tcp{,6} for the
 * listening socket's inode, then the process's descriptors). Elsewhere it cannot tell: true.
 */
export function listensOn(pid: number, port: number): boolean {
  if (process.platform !== 'linux') return true
  const hexPort = port.toString(16).toUpperCase().padStart(4, '0')
  const inodes = new Set<string>()
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text = ''
    try {
      text = readFileSync(table, 'utf8')
    } catch {
      continue
    }
    for (const line of text.split('\n').slice(1)) {
      const f = line.trim().split(/\s+/)
      // local_address is ADDR:PORT in hex; state 0A is LISTEN; the inode is the tenth field.
      if (f[1]?.endsWith(`:${hexPort}`) && f[3] === '0A' && f[9]) inodes.add(f[9])
    }
  }
  if (inodes.size === 0) return false
  try {
    return readdirSync(`/proc/${pid}/fd`).some((fd) => {
      try {
        const target = readlinkSync(`/proc/${pid}/fd/${fd}`)
        return inodes.has(/^socket:\[(\d+)\]$/.exec(target)?.[1] ?? '')
      } catch {
        return false
      }
    })
  } catch {
    return false
  }
}

/**
 * The Node flags of `npm start` in the checkout `dir` (its package.json `start` script,
 * `node <flags> src/server.ts`), so a test or a bench runs the service as npm start does.
 * Throws when the script has another shape.
 */
export function startFlags(dir = fileURLToPath(new URL('../..', import.meta.url))): string[] {
  const pkg = JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')) as {
    scripts: { start: string }
  }
  const words = pkg.scripts.start.split(/\s+/)
  if (words[0] !== 'node' || words.at(-1) !== 'src/server.ts')
    throw new Error(
      `${dir}: the start script is not "node <flags> src/server.ts": ${pkg.scripts.start}`,
    )
  return words.slice(1, -1)
}

// The Node the npm scripts run (24, which strips types), whichever Node runs the tests.
const nodeBin = fileURLToPath(new URL('../../node_modules/.bin/node', import.meta.url))
const serverEntry = fileURLToPath(new URL('../../src/server.ts', import.meta.url))

export interface ServerProcess {
  proc: ChildProcess
  /** `http://127.0.0.1:<port>`. */
  url: string
  /** Every stdout line so far (each one is checked by log-check.ts as it comes). */
  stdout: string[]
  stderr: string[]
  /** stdout, then stderr, so far: to explain a failure. */
  output: () => string
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>
  /** Sends `signal` (SIGKILL by default) unless it has exited; resolves to its exit code (null when a signal ended it). */
  kill: (signal?: NodeJS.Signals) => Promise<number | null>
}

/**
 * `node src/server.ts` as production runs it (NODE_ENV=production, so the log level is the
 * production default unless `env` sets LOG_LEVEL), on 127.0.0.1 and a free port, with `env` on
 * top, and Node's `flags` before the script (none by default; `startFlags()`: npm start's). Waits until `GET ready` answers 2xx (`ready: false`: does not wait), for up to
 * `timeoutMs`: a start on a busy 2-core box (other test files running) can take a minute.
 * Throws, with the server's stderr, when it exits first or is not ready in time (then killed).
 */
export async function startServer(
  env: Record<string, string>,
  {
    ready = '/readyz',
    timeoutMs = 150_000,
    flags = [],
    cwd,
  }: { ready?: string | false; timeoutMs?: number; flags?: string[]; cwd?: string } = {},
): Promise<ServerProcess> {
  const port = await freePort()
  const proc = spawn(nodeBin, [...flags, serverEntry], {
    ...(cwd ? { cwd } : {}),
    env: {
      PATH: process.env.PATH ?? '',
      NODE_ENV: 'production',
      HOST: '127.0.0.1',
      PORT: String(port),
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  const stdout: string[] = []
  const stderr: string[] = []
  const collect = (into: string[]) => {
    let rest = ''
    return (chunk: Buffer) => {
      const parts = (rest + chunk.toString()).split('\n')
      rest = parts.pop() ?? ''
      for (const line of parts) scanLog(line, 'node src/server.ts')
      into.push(...parts)
    }
  }
  proc.stdout?.on('data', collect(stdout))
  proc.stderr?.on('data', collect(stderr))
  // 'exit' can come before the last of stdout has been read ('close' comes after it, Node's
  // child_process docs); a test reading the log after kill() needs that last line. 'close' waits
  // for the workers too (they share the pipes), so it is waited for two seconds at most.
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    proc.once('exit', (code, signal) => {
      const done = () => resolve({ code, signal })
      const timer = setTimeout(done, 2_000)
      proc.once('close', () => {
        clearTimeout(timer)
        done()
      })
    }),
  )
  const url = `http://127.0.0.1:${port}`
  const output = () => [...stdout, ...stderr].join('\n')
  if (ready) {
    const deadline = Date.now() + timeoutMs
    let gone = false
    void exited.then(() => (gone = true))
    for (;;) {
      if (gone) throw new Error(`server exited before it was ready: ${output().slice(-20_000)}`)
      if (Date.now() > deadline) {
        proc.kill('SIGKILL')
        throw new Error(`server not ready within ${timeoutMs} ms: ${output().slice(-20_000)}`)
      }
      // Ours, not another test's server: freePort's port is free when asked, and a test running
      // beside this one may be handed the same port and bind it first (CI saw a server killed
      // while still starting because another answered its readiness probe).
      const ok =
        listensOn(proc.pid as number, port) &&
        (await fetch(`${url}${ready}`).then(
          (r) => r.ok,
          () => false,
        ))
      if (ok) break
      await new Promise((r) => setTimeout(r, 100))
    }
  }
  return {
    proc,
    url,
    stdout,
    stderr,
    output,
    exited,
    kill: async (signal = 'SIGKILL') => {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal)
      return (await exited).code
    },
  }
}

/**
 * startServer with WEB_CONCURRENCY=2 (more `env` beside), once both workers listen: the first
 * to be ready answers the readiness probe (`ready`, as startServer's) while the other may still
 * be starting.
 */
export async function startTwoWorkers(
  env: Record<string, string>,
  { ready = '/readyz' }: { ready?: string } = {},
): Promise<ServerProcess> {
  const server = await startServer({ ...env, WEB_CONCURRENCY: '2' }, { ready })
  const deadline = Date.now() + 30_000
  while (logLines(server.stdout).filter((l) => l.msg === 'worker listening').length < 2) {
    if (Date.now() > deadline) {
      await server.kill()
      throw new Error(`two workers did not listen: ${server.output().slice(-20_000)}`)
    }
    await new Promise((r) => setTimeout(r, 50))
  }
  return server
}

/** JSON log lines (anything else on stdout is skipped). */
export function logLines(lines: string[]): Record<string, unknown>[] {
  return lines.flatMap((l) => {
    try {
      return [JSON.parse(l) as Record<string, unknown>]
    } catch {
      return []
    }
  })
}

/**
 * `node src/server.ts` with `env` (on top of startServer's), expected to stop on its own; with
 * `flags` (`startFlags()`: npm start's). Resolves with its exit code, its stderr's lines (read to
 * the end) and its whole output (to explain a failure).
 */
export async function failedStart(env: Record<string, string>, flags: string[] = []) {
  const server = await startServer(env, { ready: false, flags })
  const { code } = await server.exited
  await new Promise((r) => setTimeout(r, 300)) // the last of stderr, read after the exit
  return { code, lines: server.stderr.join('\n').trim().split('\n'), output: server.output() }
}
