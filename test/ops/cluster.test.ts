import { spawnSync } from 'node:child_process'
import { afterAll, describe, expect, it } from 'vitest'
import { testDatabase, usingPostgres } from '../helpers/context.ts'
import { logLines, type ServerProcess, startServer } from '../helpers/server.ts'

const waitFor = async (what: string, ok: () => boolean, ms = 30_000) => {
  const deadline = Date.now() + ms
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 50))
  }
}

describe('WEB_CONCURRENCY', () => {
  it('refuses several workers on the embedded database, in one line', () => {
    const run = spawnSync(process.execPath, ['src/server.ts'], {
      env: { PATH: process.env.PATH, WEB_CONCURRENCY: '2', DATA_DIR: 'memory://' },
      encoding: 'utf8',
      timeout: 20_000,
    })
    expect(run.status).toBe(1)
    expect(run.stderr.trim().split('\n')).toHaveLength(1)
    expect(run.stderr).toMatch(/^WEB_CONCURRENCY=2 needs DATABASE_URL/)
  })

  describe.skipIf(!usingPostgres)('with PostgreSQL (several processes on one database)', () => {
    let server: ServerProcess | undefined
    let drop = async () => {}
    afterAll(async () => {
      server?.proc.kill('SIGKILL')
      await drop()
    })

    it('runs N workers on one port, replaces one that dies, and stops them all on SIGTERM', async () => {
      const db = await testDatabase()
      drop = db.drop
      server = await startServer({ ...db.env, WEB_CONCURRENCY: '2', RATE_LIMIT_MAX: '0' })
      const s = server
      const listening = () =>
        logLines(s.stdout)
          .filter((l) => l.msg === 'worker listening')
          .map((l) => l.worker as number)
      await waitFor('two workers', () => listening().length >= 2)
      const [first, second] = listening() as [number, number]
      expect(first).not.toBe(second)

      // Both answer: the request log names the pid that served each request (and nothing a
      // shopper sees does).
      const servedBy = new Set<unknown>()
      for (let i = 0; i < 200 && servedBy.size < 2; i++) {
        const res = await fetch(`${s.url}/healthz`, { headers: { connection: 'close' } })
        expect(res.status).toBe(200)
        const id = res.headers.get('x-request-id')
        await waitFor('its log line', () =>
          logLines(s.stdout).some((l) => l.reqId === id && l.msg === 'request completed'),
        )
        const line = logLines(s.stdout).find((l) => l.reqId === id)
        servedBy.add(line?.pid)
        expect(JSON.stringify(Object.fromEntries(res.headers))).not.toContain(String(line?.pid))
      }
      expect([...servedBy].sort()).toEqual([first, second].sort())

      // A worker that dies is replaced; the port keeps answering meanwhile.
      process.kill(first, 'SIGKILL')
      await waitFor('a replacement worker', () => listening().length >= 3)
      const replacement = listening()[2]
      expect([first, second]).not.toContain(replacement)
      expect((await fetch(`${s.url}/healthz`)).status).toBe(200)

      s.proc.kill('SIGTERM')
      expect(await s.exited).toEqual({ code: 0, signal: null })
      const lines = logLines(s.stdout)
      expect(
        lines
          .filter((l) => l.msg === 'closing gracefully')
          .map((l) => l.pid)
          .sort(),
      ).toEqual([second, replacement].sort())
      expect(lines.at(-1)).toMatchObject({ msg: 'all workers stopped', exitCode: 0 })
    })

    it('stops workers told to stop while still starting: none listens after it began closing', async () => {
      const db = await testDatabase()
      let s: ServerProcess | undefined
      try {
        // SIGTERM as soon as the primary has forked: the workers are still building their apps
        // (loading modules, migrating), seconds before they could listen. A stop heard then was
        // lost: they listened, served on, and were killed SHUTDOWN_TIMEOUT_MS + 5 s later (exit 1).
        // 15 s, not less: on a loaded machine a worker takes several seconds to build its app
        // and then close it, and being killed for slowness would fail the test for no fault.
        const started = await startServer(
          { ...db.env, WEB_CONCURRENCY: '2', SHUTDOWN_TIMEOUT_MS: '15000' },
          { ready: false },
        )
        s = started
        await waitFor('the workers forked', () =>
          logLines(started.stdout).some((l) => l.msg === 'starting workers'),
        )
        started.proc.kill('SIGTERM')
        expect(await started.exited, started.output()).toEqual({ code: 0, signal: null })
        const lines = logLines(started.stdout)
        const closing = lines.filter((l) => l.msg === 'closing gracefully').map((l) => l.pid)
        expect(closing, started.output()).toHaveLength(2)
        // A worker whose listen was under way when it heard the stop closes after it, never before.
        for (const pid of closing) {
          const own = lines.filter((l) => l.pid === pid).map((l) => String(l.msg))
          const listened = own.findIndex((m) => m.startsWith('Server listening'))
          if (listened !== -1) expect(listened).toBeLessThan(own.indexOf('closing gracefully'))
        }
        expect(lines.map((l) => l.msg)).not.toContain('workers did not stop in time; killing them')
        expect(lines.at(-1)).toMatchObject({ msg: 'all workers stopped', exitCode: 0 })
      } finally {
        await s?.kill()
        await db.drop()
      }
    })
  })
})
