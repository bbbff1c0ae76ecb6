import { availableParallelism } from 'node:os'
import { defineConfig } from 'vitest/config'

/**
 * Test files whose outcome does not depend on the test database (TEST_DATABASE_URL): pure
 * functions, files read from the repository, or a database of their own (a throwaway
 * PostgreSQL cluster, an embedded database in a temporary folder). They form the project
 * `once`: `npm test` runs them, and CI's PostgreSQL pass (`--project db`) does not run them
 * again. Every other file is in `db`, which runs on each database, or in `browser` (below). A
 * file goes here only when it never uses testDatabase, buildTestApp, appsOnOneDatabase,
 * usingPostgres or TEST_DATABASE_URL: test/projects.test.ts holds this list to that.
 */
export const databaseIndependent = [
  'test/money.test.ts',
  'test/ttl-cache.test.ts',
  'test/zip-prefixes.test.ts',
  'test/config.test.ts',
  'test/projects.test.ts',
  'test/admin/csv-cells.test.ts',
  'test/db/entra.test.ts',
  'test/db/initdb-copy.test.ts',
  'test/db/tls.test.ts',
  'test/db/tls-settings.test.ts',
  'test/deploy/arm-database.test.ts',
  'test/deploy/arm-dispatch.test.ts',
  'test/deploy/arm-keyvault.test.ts',
  'test/deploy/arm-mail.test.ts',
  'test/deploy/arm-platform.test.ts',
  'test/deploy/arm-template.test.ts',
  'test/deploy/cd-steps.test.ts',
  'test/deploy/connection-budget.test.ts',
  'test/deploy/deploy.test.ts',
  'test/deploy/deploy-live.test.ts',
  'test/deploy/doc-links.test.ts',
  'test/deploy/image-placeholder.test.ts',
  'test/deploy/layout.test.ts',
  'test/deploy/outputs-file.test.ts',
  'test/deploy/parameter-combinations.test.ts',
  'test/deploy/workflows.test.ts',
  'test/k6/options.test.ts',
  'test/k6/run-script.test.ts',
  'test/k6/syntax.test.ts',
  'test/k6/verdict.test.ts',
  'test/mail/config.test.ts',
  'test/ops/data-dir.test.ts',
  'test/ops/json-numbers.test.ts',
  'test/ops/log-file.test.ts',
  'test/orders/form-validator.test.ts',
  'test/orders/order-number.test.ts',
  'test/reliability/embedded-lock.test.ts',
  'test/reliability/embedded-memory.test.ts',
  'test/reliability/poll-loop.test.ts',
  'test/staff/passwords.test.ts',
  'test/webhooks/secrets.test.ts',
  'test/webhooks/signing.test.ts',
  'test/webhooks/url-policy.test.ts',
]

/**
 * Test files that drive Chromium (test/helpers/browser.ts): what they check is what the pages
 * do in a browser (axe, the keyboard, layouts, the Content-Security-Policy, scripts), on an app
 * from buildTestApp. The data behind those pages comes from the queries that the `db` files
 * check on each database (test/orders/pages, test/admin/order-page, test/insights/pages …), so
 * the project `browser` runs them on the embedded database only: `npm test` runs them, and CI's
 * PostgreSQL pass (`--project db`) does not; there they took 188 s of the 884 s its workers
 * spent on files and checked nothing new (docs/testing.md, 2026-12-01). test/projects.test.ts
 * holds the rule: every file that imports test/helpers/browser.ts or playwright-core is listed
 * here, and none listed here asks which database it is on (usingPostgres, appsOnOneDatabase,
 * TEST_DATABASE_URL). What a page needs of PostgreSQL itself is checked in a `db` file, with
 * app.inject.
 */
export const browserTests = [
  'test/a11y/axe.test.ts',
  'test/admin/back-office-browser.test.ts',
  'test/insights/browser.test.ts',
  'test/ops/csp-browser.test.ts',
  'test/orders/browser.test.ts',
  'test/orders/shopper-browser.test.ts',
  'test/webhooks/pages-a11y.test.ts',
]

export default defineConfig({
  test: {
    pool: 'forks',
    // Two files at a time at least: vitest's default (cores - 1) is one on a 2-core CI machine,
    // where most files wait more than they compute (on PostgreSQL, child servers, timers).
    maxWorkers: Math.max(2, availableParallelism() - 1),
    // Every file's loggers are checked for "[object Object]" (issue 13, item 5); its in-memory
    // embedded databases start from a fresh one made once per run (pglite-template.ts).
    setupFiles: ['test/helpers/log-check-setup.ts', 'test/helpers/pglite-template-setup.ts'],
    globalSetup: ['test/helpers/pglite-template.ts'],
    // A slow machine is not a broken one: on 2 busy cores, with files running side by side, an
    // app's start (migrating a fresh database) or a child server's first start can take tens of
    // seconds. The limits are there to end a hang, not to time a start.
    testTimeout: 120_000,
    hookTimeout: 180_000,
    teardownTimeout: 60_000,
    projects: [
      {
        extends: true,
        test: {
          name: 'db',
          include: ['test/**/*.test.ts'],
          exclude: [...databaseIndependent, ...browserTests],
          // A worker process runs file after file instead of one process per file: each new
          // process paid for Node's start, the app's module graph and a first app build that
          // warms V8 (PGlite's WebAssembly, Fastify's schema compilers): ~10 s for a first
          // buildTestApp against ~3 s for the next one in the same process. 12 typical files
          // took 130 s of CPU with a process each and 68 s without (docs/testing.md). So a file
          // here must leave the process as it found it: close what it opens, restore what it
          // changes (process.env, spies, listeners, mocks). The setup files still run before
          // every file (log-check-setup.ts empties its list).
          isolate: false,
        },
      },
      // As in `db`, a worker process runs file after file: each of these builds a test app.
      { extends: true, test: { name: 'browser', include: browserTests, isolate: false } },
      // Isolated as by default: a few of these replace globals or unmock modules
      // (test/db/initdb-copy.test.ts needs the real PGlite, loaded fresh), and they are cheap.
      { extends: true, test: { name: 'once', include: databaseIndependent } },
    ],
  },
})
