import { type ChildProcess, spawn } from 'node:child_process'
import { createServer } from 'node:net'
import { scanLog } from './log-check.ts'

/** A port nobody listens on right now (the server cannot report a port 0 it was given). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      const port = typeof address === 'object' && address ? address.port : 0
      server.close(() => resolve(port))
    })
  })
}

export interface ServerProcess {
  proc: ChildProcess
  base: string
  /** Every stdout line so far. */
  stdout: string[]
  stderr: string[]
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>
}

/**
 * `node src/server.ts` as production runs it, on 127.0.0.1 and a free port. Waits up to
 * `timeoutMs` for it to be ready: a start on a busy 2-core box can take a minute.
 */
export async function startServer(
  env: Record<string, string>,
  { ready = '/healthz', timeoutMs = 150_000 }: { ready?: string | false; timeoutMs?: number } = {},
): Promise<ServerProcess> {
  const port = await freePort()
  const proc = spawn(process.execPath, ['src/server.ts'], {
    env: {
      PATH: process.env.PATH,
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
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    proc.once('exit', (code, signal) => resolve({ code, signal })),
  )
  const base = `http://127.0.0.1:${port}`
  if (ready) {
    const deadline = Date.now() + timeoutMs
    let gone = false
    void exited.then(() => (gone = true))
    for (;;) {
      if (gone) throw new Error(`server exited before it was ready: ${stderr.join('\n')}`)
      if (Date.now() > deadline) {
        proc.kill('SIGKILL')
        throw new Error(`server not ready within ${timeoutMs} ms: ${stderr.join('\n')}`)
      }
      const ok = await fetch(`${base}${ready}`).then(
        (r) => r.ok,
        () => false,
      )
      if (ok) break
      await new Promise((r) => setTimeout(r, 100))
    }
  }
  return { proc, base, stdout, stderr, exited }
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
