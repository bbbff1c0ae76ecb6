import { createConfig, lintFromString } from '@redocly/openapi-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildTestApp, type TestApp } from '../helpers/context.ts'

/** /openapi.json passes Redocly's recommended rules and documents what the routes really send. */
let t: TestApp
let doc: Record<string, unknown>
beforeAll(async () => {
  t = await buildTestApp()
  doc = (await t.app.inject({ url: '/openapi.json' })).json()
})
afterAll(() => t?.close())

type Json = Record<string, unknown>
const operation = (path: string, method: string) =>
  ((doc.paths as Json)[path] as Json)[method] as {
    operationId?: string
    responses: Record<string, { headers?: Json; content?: Json }>
  }

describe('the OpenAPI document', () => {
  it("is clean under Redocly's recommended rules: no error, no warning", async () => {
    const config = await createConfig({ extends: ['recommended'] })
    const problems = await lintFromString({
      source: JSON.stringify(doc),
      absoluteRef: 'openapi.json',
      config,
    })
    const found = problems.map(
      (p) => `${p.severity} ${p.ruleId}: ${p.message} at ${p.location[0]?.pointer ?? '?'}`,
    )
    expect(found).toEqual([])
  })

  it('names each operation once, and keeps no validator-only keyword', () => {
    const ids: string[] = []
    for (const item of Object.values(doc.paths as Record<string, Json>)) {
      for (const op of Object.values(item) as { operationId?: string }[]) {
        expect(op.operationId).toMatch(/^[a-z][A-Za-z0-9]+$/)
        ids.push(op.operationId as string)
      }
    }
    expect(new Set(ids).size).toBe(ids.length)
    const text = JSON.stringify(doc)
    expect(text).not.toMatch(/"errorMessage"|"~[a-z]+"/)
    expect(doc.servers).toEqual([expect.objectContaining({ url: '/' })])
  })

  it('documents the errors, Location and Retry-After the order routes send', () => {
    const place = operation('/api/orders', 'post')
    for (const status of ['400', '409', '413', '415', '422', '429', '500', '503']) {
      expect(place.responses[status]?.content, status).toHaveProperty(['application/problem+json'])
    }
    expect(place.responses['201']?.headers).toHaveProperty(['location'])
    expect(place.responses['200']?.headers).toHaveProperty(['location'])
    expect(place.responses['429']?.headers).toHaveProperty(['Retry-After'])
    expect(place.responses['503']?.headers).toHaveProperty(['Retry-After'])
    expect(Object.keys(operation('/api/orders/{orderNumber}', 'get').responses)).toEqual(
      expect.arrayContaining(['200', '400', '404', '414', '503']),
    )
    const transition = operation('/api/admin/orders/{orderNumber}/transitions', 'post')
    expect(Object.keys(transition.responses)).toEqual(
      expect.arrayContaining(['400', '401', '403', '404', '409', '412', '413', '415', '428']),
    )
    // Not rate-limited: no 429 claimed.
    expect(transition.responses['429']).toBeUndefined()
    const problem = (doc.components as { schemas: Record<string, { required: string[] }> }).schemas
      .Problem
    expect(problem?.required).toEqual(
      expect.arrayContaining([
        'type',
        'title',
        'status',
        'detail',
        'statusCode',
        'error',
        'message',
      ]),
    )
  })
})
