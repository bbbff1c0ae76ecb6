import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    pool: 'forks',
    // Every file's loggers are checked for "[object Object]" (issue 13, item 5).
    setupFiles: ['test/helpers/log-check-setup.ts'],
    // A slow machine is not a broken one: on 2 busy cores, with files running side by side, an
    // app's start (migrating a fresh database) or a child server's first start can take tens of
    // seconds. The limits are there to end a hang, not to time a start.
    testTimeout: 120_000,
    hookTimeout: 180_000,
    teardownTimeout: 60_000,
  },
})
