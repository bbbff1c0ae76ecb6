import { randomUUID } from 'node:crypto'
import { readFileSync } from 'node:fs'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, describe, expect, it } from 'vitest'
import { tracedRequest } from '../../src/tracing/sampling.ts'
import { customer, testDatabase, usingPostgres } from '../helpers/context.ts'
import { logLines, type ServerProcess, startServer } from '../helpers/server.ts'

/** A span as OTLP/HTTP JSON carries it (ids in hex). */
interface OtlpSpan {
  traceId: string
  spanId: string
  parentSpanId?: string
  name: string
  kind: number
  attributes?: { key: string; value: Record<string, unknown> }[]
}
const SERVER = 2
const CLIENT = 3

const attribute = (span: OtlpSpan, key: string): unknown => {
  const value = span.attributes?.find((a) => a.key === key)?.value
  return value && Object.values(value)[0]
}

/** A local OTLP/HTTP receiver: accepts POST /v1/traces (JSON) and keeps every span and resource. */
async function startOtlpReceiver() {
  const spans: OtlpSpan[] = []
  const resources: Record<string, unknown>[] = []
  const paths: string[] = []
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      paths.push(`${req.method} ${req.url} ${req.headers['content-type']}`)
      if (req.method === 'POST' && req.url === '/v1/traces') {
        const body = JSON.parse(Buffer.concat(chunks).toString()) as {
          resourceSpans: {
            resource: Record<string, unknown>
            scopeSpans: { spans: OtlpSpan[] }[]
          }[]
        }
        for (const rs of body.resourceSpans) {
          resources.push(rs.resource)
          for (const ss of rs.scopeSpans) spans.push(...ss.spans)
        }
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}')
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}`,
    spans,
    resources,
    paths,
    close: () => new Promise((resolve) => server.close(resolve)),
  }
}

const recorder = fileURLToPath(new URL('../helpers/record-imports.ts', import.meta.url))
// The SDK, its instrumentations and exporters. Not @opentelemetry/api: prom-client requires it for
// its exemplars whenever it is installed; alone it is a no-op (no provider, no patching).
const otelPackage =
  /\/node_modules\/(@opentelemetry\/(?!api\/)|@fastify\/otel\/|@azure\/monitor-opentelemetry)/

/** The modules a server process resolved, written by record-imports.ts when it exited. */
const importsOf = (file: string) => readFileSync(file, 'utf8').split('\n')

const placeOrder = (url: string, headers: Record<string, string> = {}) =>
  fetch(`${url}/api/orders`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'idempotency-key': randomUUID(), ...headers },
    body: JSON.stringify({ items: [{ sku: 'MUG-001', quantity: 1 }], customer }),
  })

describe('which requests are traced (decided before any span)', () => {
  const parent = (flags: string) => `00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-${flags}`
  it('follows a traceparent: sampled is traced whatever the ratio, not sampled never', () => {
    expect(tracedRequest('/api/orders', parent('01'), 0)).toBe(true)
    expect(tracedRequest('/api/orders', parent('03'), 0)).toBe(true)
    expect(tracedRequest('/api/orders', parent('00'), 1)).toBe(false)
  })
  it('without one (or with a malformed one), keeps TRACE_SAMPLE_RATIO of them', () => {
    expect(tracedRequest('/', undefined, 1, () => 0.999)).toBe(true)
    expect(tracedRequest('/', undefined, 0, () => 0)).toBe(false)
    expect(tracedRequest('/', undefined, 0.25, () => 0.2)).toBe(true)
    expect(tracedRequest('/', undefined, 0.25, () => 0.3)).toBe(false)
    expect(tracedRequest('/', 'not-a-traceparent-01', 0, () => 0.5)).toBe(false)
    expect(tracedRequest('/', ['a', 'b'], 1)).toBe(true)
    let kept = 0
    for (let i = 0; i < 10_000; i++) if (tracedRequest('/', undefined, 0.1)) kept++
    expect(kept).toBeGreaterThan(800)
    expect(kept).toBeLessThan(1200)
  })
  it('never traces the probes and the scrape', () => {
    for (const path of ['/healthz', '/readyz', '/metrics']) {
      expect(tracedRequest(path, parent('01'), 1)).toBe(false)
    }
  })
})

describe('tracing', () => {
  let server: ServerProcess | undefined
  const cleanups: (() => Promise<unknown>)[] = []
  afterAll(async () => {
    await server?.kill()
    for (const cleanup of cleanups) await cleanup()
  })

  it(`exports one order's trace to an OTLP/HTTP endpoint: the request span and ${usingPostgres ? 'its query spans' : '(PGlite has no pg driver) no query span'}; the request's log line carries its trace id`, async () => {
    const receiver = await startOtlpReceiver()
    cleanups.push(receiver.close)
    const db = await testDatabase()
    cleanups.push(db.drop)
    const importsFile = path.join(tmpdir(), `imports-${randomUUID()}.txt`)
    server = await startServer({
      ...db.env,
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
      OTEL_SERVICE_NAME: 'order-service-test',
      RATE_LIMIT_MAX: '0',
      LOG_LEVEL: 'info',
      NODE_OPTIONS: `--import=${recorder}`,
      RECORD_IMPORTS_FILE: importsFile,
    })
    const res = await placeOrder(server.url)
    expect(res.status).toBe(201)
    const requestId = res.headers.get('x-request-id')
    // SIGTERM: a graceful stop exports what is still buffered (the batch would wait 5 s).
    expect(await server.kill('SIGTERM')).toBe(0)

    expect(receiver.paths).toContain('POST /v1/traces application/json')
    const serverSpans = receiver.spans.filter(
      (s) => s.kind === SERVER && attribute(s, 'http.route') === '/api/orders',
    )
    expect(serverSpans, JSON.stringify(receiver.spans.map((s) => s.name))).toHaveLength(1)
    const request = serverSpans[0] as OtlpSpan
    expect(request.name).toBe('POST /api/orders')
    expect(
      attribute(request, 'http.status_code') ?? attribute(request, 'http.response.status_code'),
    ).toBe(201)
    // No span for the readiness probes startServer made.
    expect(receiver.spans.filter((s) => s.kind === SERVER)).toHaveLength(1)
    expect(JSON.stringify(receiver.resources)).toContain('order-service-test')

    // Every span of the trace hangs under the request span.
    const trace = receiver.spans.filter((s) => s.traceId === request.traceId)
    const byId = new Map(trace.map((s) => [s.spanId, s]))
    const underRequest = (s: OtlpSpan): boolean => {
      for (let p = s.parentSpanId; p; p = byId.get(p)?.parentSpanId)
        if (p === request.spanId) return true
      return false
    }
    const queries = trace.filter(
      (s) =>
        s.kind === CLIENT &&
        (attribute(s, 'db.system.name') ?? attribute(s, 'db.system')) === 'postgresql',
    )
    if (usingPostgres) {
      expect(queries.length, JSON.stringify(trace.map((s) => s.name))).toBeGreaterThan(0)
      for (const q of queries) expect(underRequest(q)).toBe(true)
      // The order's own statement, not only a pool checkout or a lookup.
      expect(
        queries.some((q) =>
          /insert/i.test(String(attribute(q, 'db.statement') ?? attribute(q, 'db.query.text'))),
        ),
      ).toBe(true)
    } else {
      expect(queries).toHaveLength(0)
    }

    // Statements go out as text with placeholders: no shopper's details in any span.
    expect(JSON.stringify(receiver.spans)).not.toContain(customer.email)

    const line = logLines(server.stdout).find(
      (l) => l.reqId === requestId && l.msg === 'request completed',
    )
    expect(line?.trace_id).toBe(request.traceId)
    expect(line?.span_id).toMatch(/^[0-9a-f]{16}$/)
    // A line outside any span carries its own fields only, none of an earlier line's.
    const lines = logLines(server.stdout)
    expect(lines.filter((l) => l.msg === 'migrations applied')).toHaveLength(1)
    expect(lines.filter((l) => 'migrations' in l).map((l) => l.msg)).toEqual(['migrations applied'])

    // The recorder sees OpenTelemetry when it is loaded (so the check below can fail).
    expect(importsOf(importsFile).some((u) => otelPackage.test(u))).toBe(true)
  })

  it('at TRACE_SAMPLE_RATIO=0 traces only a request whose traceparent is sampled, under that trace; the other makes no span and its log line no trace id', async () => {
    const receiver = await startOtlpReceiver()
    cleanups.push(receiver.close)
    const db = await testDatabase()
    cleanups.push(db.drop)
    server = await startServer({
      ...db.env,
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
      TRACE_SAMPLE_RATIO: '0',
      RATE_LIMIT_MAX: '0',
      LOG_LEVEL: 'info',
    })
    const traceId = randomUUID().replaceAll('-', '')
    const parentId = randomUUID().replaceAll('-', '').slice(0, 16)
    const traced = await placeOrder(server.url, { traceparent: `00-${traceId}-${parentId}-01` })
    const untraced = await placeOrder(server.url)
    expect([traced.status, untraced.status]).toEqual([201, 201])
    expect(await server.kill('SIGTERM')).toBe(0)

    const serverSpans = receiver.spans.filter((s) => s.kind === SERVER)
    expect(serverSpans, JSON.stringify(receiver.spans.map((s) => s.name))).toHaveLength(1)
    const request = serverSpans[0] as OtlpSpan
    expect(request.name).toBe('POST /api/orders')
    expect(request.traceId).toBe(traceId)
    expect(request.parentSpanId).toBe(parentId)
    // Every span sent belongs to that trace: the untraced order made none, queries included.
    expect(receiver.spans.filter((s) => s.traceId !== traceId)).toEqual([])
    const lines = logLines(server.stdout).filter((l) => l.msg === 'request completed')
    const lineOf = (res: Response) => lines.find((l) => l.reqId === res.headers.get('x-request-id'))
    expect(lineOf(traced)?.trace_id).toBe(traceId)
    expect(lineOf(untraced)).toBeDefined()
    expect(lineOf(untraced)).not.toHaveProperty('trace_id')
  })

  it('a collector that is down or never answers costs a stop 2 s and a warning, not exit 1', async () => {
    // One that takes the connection and never answers: the exporter would wait its 10 s.
    const hung = http.createServer(() => {})
    await new Promise<void>((resolve) => hung.listen(0, '127.0.0.1', resolve))
    const sockets = new Set<import('node:net').Socket>()
    hung.on('connection', (socket) => sockets.add(socket))
    cleanups.push(async () => {
      for (const socket of sockets) socket.destroy()
      await new Promise((resolve) => hung.close(resolve))
    })
    const refused = http.createServer()
    await new Promise<void>((resolve) => refused.listen(0, '127.0.0.1', resolve))
    const refusedUrl = `http://127.0.0.1:${(refused.address() as AddressInfo).port}`
    await new Promise((resolve) => refused.close(resolve))
    const db = await testDatabase()
    cleanups.push(db.drop)
    for (const endpoint of [
      `http://127.0.0.1:${(hung.address() as AddressInfo).port}`,
      refusedUrl,
    ]) {
      server = await startServer({
        ...db.env,
        OTEL_EXPORTER_OTLP_ENDPOINT: endpoint,
        RATE_LIMIT_MAX: '0',
        LOG_LEVEL: 'info',
        // Under the exporter's own 10 s: without a limit of its own the stop ran out of time.
        SHUTDOWN_TIMEOUT_MS: '8000',
      })
      expect((await placeOrder(server.url)).status).toBe(201)
      expect(await server.kill('SIGTERM'), server.output()).toBe(0)
      const warned = logLines(server.stdout).find((l) =>
        String(l.msg).startsWith('tracing: the last spans could not be exported'),
      )
      expect(warned, server.output()).toMatchObject({ level: 40 })
    }
  }, 240_000)

  it('loads no OpenTelemetry module when neither APPLICATIONINSIGHTS_CONNECTION_STRING nor OTEL_EXPORTER_OTLP_ENDPOINT is set', async () => {
    const db = await testDatabase()
    cleanups.push(db.drop)
    const importsFile = path.join(tmpdir(), `imports-${randomUUID()}.txt`)
    server = await startServer({
      ...db.env,
      RATE_LIMIT_MAX: '0',
      LOG_LEVEL: 'info',
      NODE_OPTIONS: `--import=${recorder}`,
      RECORD_IMPORTS_FILE: importsFile,
    })
    const res = await placeOrder(server.url)
    expect(res.status).toBe(201)
    const requestId = res.headers.get('x-request-id')
    expect(await server.kill('SIGTERM')).toBe(0)

    const imports = importsOf(importsFile)
    expect(imports.some((u) => u.includes('/node_modules/fastify/'))).toBe(true)
    expect(imports.filter((u) => otelPackage.test(u))).toEqual([])
    const line = logLines(server.stdout).find((l) => l.reqId === requestId)
    expect(line).toBeDefined()
    expect(line).not.toHaveProperty('trace_id')
  })
})
