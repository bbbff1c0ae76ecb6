import { readFileSync } from 'node:fs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { loadConfig } from '../../src/config.ts'
import { buildTestApp, type TestApp } from '../helpers/context.ts'

// A release checks the staging slot's /readyz before the swap; the revision in the answer tells
// it the new build is the one answering, not the old container still running (issue 18).

const sha = '3f2c1ab9d0e4c5f60718293a4b5c6d7e8f901234'
let built: TestApp
let plain: TestApp

beforeAll(async () => {
  built = await buildTestApp({ APP_REVISION: sha })
  plain = await buildTestApp()
})
afterAll(async () => {
  await built?.close()
  await plain?.close()
})

describe('the revision in /healthz and /readyz', () => {
  it('is the APP_REVISION the image was built with', async () => {
    expect((await built.app.inject('/healthz')).json()).toEqual({ status: 'ok', revision: sha })
    const ready = await built.app.inject('/readyz')
    expect(ready.statusCode).toBe(200)
    expect(ready.json()).toEqual({ status: 'ready', revision: sha })
  })

  it('is left out when APP_REVISION is not set (a build without it, local runs)', async () => {
    expect((await plain.app.inject('/healthz')).json()).toEqual({ status: 'ok' })
    expect((await plain.app.inject('/readyz')).json()).toEqual({ status: 'ready' })
  })

  it('is a commit-like name, nothing a page could be made to show', () => {
    expect(loadConfig({ APP_REVISION: sha }).APP_REVISION).toBe(sha)
    expect(loadConfig({}).APP_REVISION).toBe('')
    for (const bad of ['<script>', 'a b', 'x'.repeat(65)]) {
      expect(() => loadConfig({ APP_REVISION: bad }), bad).toThrow(/APP_REVISION/)
    }
  })

  it('is set in the image from the REVISION build argument, after the last layer', () => {
    const dockerfile = readFileSync(new URL('../../Dockerfile', import.meta.url), 'utf8')
    const runtime = dockerfile.slice(dockerfile.lastIndexOf('\nFROM '))
    expect(runtime).toMatch(/^ARG REVISION=""\nENV APP_REVISION=\$\{REVISION\}$/m)
    expect(runtime.indexOf('ARG REVISION')).toBeGreaterThan(runtime.lastIndexOf('\nCOPY '))
  })
})
