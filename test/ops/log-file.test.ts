import { EventEmitter } from 'node:events'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { type LogWriter, watchLogWriter } from '../../src/plugins/logging.ts'
import { failedStart, startServer } from '../helpers/server.ts'

/** A stand-in for pino's thread-stream: emits what the test says; terminate as given. */
function fakeWriter(terminate: () => Promise<unknown> = async () => {}) {
  return Object.assign(new EventEmitter(), { worker: { terminate } }) as EventEmitter & LogWriter
}

describe('the LOG_FILE writer thread, watched', () => {
  afterEach(() => vi.restoreAllMocks())

  it('a write error: one line on stderr naming LOG_FILE, then exit 1', async () => {
    const stderr = vi.spyOn(process.stderr, 'write').mockImplementation(() => true)
    const exit = vi.fn()
    const writer = fakeWriter()
    watchLogWriter(writer, '/var/log/x.log', { exit, kill: vi.fn() })
    writer.emit('ready')
    writer.emit('error', new Error('ENOSPC: no space left on device, write'))
    await vi.waitFor(() => expect(exit).toHaveBeenCalledWith(1))
    expect(stderr).toHaveBeenCalledWith(
      'LOG_FILE /var/log/x.log: writing the logs failed (ENOSPC: no space left on device, write); stopping, as the service would run unlogged\n',
    )
  })

  it('not ready in time: says so and exits 1; a thread that cannot be ended: SIGKILL', async () => {
    vi.spyOn(process.stderr, 'write').mockImplementation(() => true)
    const exit = vi.fn()
    const kill = vi.fn()
    watchLogWriter(
      fakeWriter(() => new Promise(() => {})),
      '/mnt/hung/x.log',
      {
        readyMs: 50,
        stuckMs: 50,
        exit,
        kill,
      },
    )
    await vi.waitFor(() => expect(kill).toHaveBeenCalledOnce())
    expect(exit).not.toHaveBeenCalled()
    expect(process.stderr.write).toHaveBeenCalledWith(
      expect.stringMatching(
        /^LOG_FILE \/mnt\/hung\/x\.log: the log writer did not start within 0\.05 s/,
      ),
    )
  })

  it('ready in time and no error: nothing happens', async () => {
    const exit = vi.fn()
    const kill = vi.fn()
    const writer = fakeWriter()
    watchLogWriter(writer, '/tmp/x.log', { readyMs: 20, exit, kill })
    writer.emit('ready')
    await new Promise((r) => setTimeout(r, 80))
    expect(exit).not.toHaveBeenCalled()
    expect(kill).not.toHaveBeenCalled()
  })
})

describe('npm start with a LOG_FILE named by digits', () => {
  it('writes the logs to the file of that name in its folder, not to that file descriptor', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'log-file-'))
    try {
      // pino/file took "2" for stderr (and "1" for stdout, "0" or "12" failed the start).
      const server = await startServer(
        { DATA_DIR: 'memory://', LOG_FILE: '2', LOG_LEVEL: 'info' },
        { cwd: dir },
      )
      await fetch(`${server.url}/healthz`)
      expect(await server.kill('SIGTERM')).toBe(0)
      const logged = readFileSync(join(dir, '2'), 'utf8')
      expect(logged).toContain('"msg":"Server listening at')
      expect(server.stderr.join('\n')).not.toContain('"msg":"Server listening at')
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  }, 180_000)
})

describe('npm start with a LOG_FILE that fails', () => {
  it('/dev/full (every write fails, ENOSPC): one line naming LOG_FILE, exit 1, no stack', async () => {
    const run = await failedStart({
      DATA_DIR: 'memory://',
      LOG_FILE: '/dev/full',
      LOG_LEVEL: 'info',
    })
    expect(run.code, run.output).toBe(1)
    expect(run.lines).toEqual([
      'LOG_FILE /dev/full: writing the logs failed (ENOSPC: no space left on device, write); stopping, as the service would run unlogged',
    ])
  }, 120_000)

  it('/proc/nope/x (mkdir fails even for root): refused at start with one line', async () => {
    const run = await failedStart({ DATA_DIR: 'memory://', LOG_FILE: '/proc/nope/x' })
    expect(run.code, run.output).toBe(1)
    expect(run.lines).toEqual([
      expect.stringMatching(/^Invalid configuration: LOG_FILE \/proc\/nope\/x cannot be made: /),
    ])
  }, 120_000)
})
