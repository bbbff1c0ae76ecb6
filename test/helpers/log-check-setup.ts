import { afterAll, expect, vi } from 'vitest'
import { caughtLines } from './log-check.ts'

// Every pino logger created in a test process (the app's, whatever LOG_LEVEL the test chose)
// logs every level into a tee: each line is scanned (log-check.ts), and only the lines at or
// above the level the test asked for reach the test's own destination (or stdout). So a test
// app at LOG_LEVEL=silent still has each of its error lines checked, and reads no more than
// it asked for.
vi.mock('pino', async (importOriginal) => {
  const actual = await importOriginal<typeof import('pino')>()
  const { scanLog } = await import('./log-check.ts')
  const real = actual.default
  type Options = Parameters<typeof real>[0]
  type Destination = { write: (line: string) => unknown }

  function checkedPino(options?: Options, destination?: Destination) {
    const wanted =
      typeof options === 'object' && options && 'level' in options ? options.level : 'info'
    const threshold = wanted === 'silent' ? Infinity : (real.levels.values[wanted ?? 'info'] ?? 30)
    const target = destination ?? real.destination(1)
    const tee = {
      write(line: string) {
        scanLog(line, 'in-process logger')
        const level = Number(/"level":(\d+)/.exec(line)?.[1] ?? Infinity)
        if (level >= threshold) target.write(line)
      },
    }
    const logger = real({ ...(options as object), level: 'trace' }, tee)
    return logger
  }
  Object.assign(checkedPino, real)
  return { ...actual, default: checkedPino, pino: checkedPino }
})

// With isolate: false (vitest.config.ts) a worker runs file after file with its modules, and so
// caughtLines, kept: this setup runs before each file, so each file answers for its own lines.
caughtLines.length = 0

afterAll(() => {
  expect(
    caughtLines,
    'log lines with "[object Object]": an error lost its class, message or code',
  ).toEqual([])
})
