import net from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type App, buildApp } from '../../src/app.ts'
import { loadConfig } from '../../src/config.ts'
import { customer, testDatabase } from '../helpers/context.ts'
import { inhumaneMessage, pageMessages } from '../helpers/reliability.ts'

// Issue 13, items 2 and 10: every error Fastify or Node raises before routing or outside a
// handler answers like every other error (a page for browsers, {statusCode, error, message} for
// programs, the security headers, X-Request-Id, one log line), and a JSON body with a prototype
// key is refused with a sentence that names it.

interface RawResponse {
  status: number
  headers: Record<string, string>
  body: string
}

let app: App
let port = 0
let drop: () => Promise<void>
const logged: string[] = []

beforeAll(async () => {
  const db = await testDatabase()
  drop = db.drop
  const config = loadConfig({ NODE_ENV: 'test', LOG_LEVEL: 'info', ...db.env })
  app = await buildApp({
    config,
    salesFold: false,
    logStream: { write: (line: string) => void logged.push(line) },
  })
  await app.listen({ port: 0, host: '127.0.0.1' })
  const address = app.server.address()
  port = typeof address === 'object' && address ? address.port : 0
})
afterAll(async () => {
  await app?.close()
  await drop?.()
})

/** Sends `text` as it is over a new connection and reads the answer until the server closes. */
function raw(text: string | Buffer): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1', () => socket.write(text))
    const chunks: Buffer[] = []
    socket.on('data', (d) => chunks.push(d))
    socket.on('error', () => {}) // the server may reset after answering
    socket.on('close', () => {
      const all = Buffer.concat(chunks).toString('utf8')
      const split = all.indexOf('\r\n\r\n')
      if (split === -1) return reject(new Error(`no HTTP answer: ${JSON.stringify(all)}`))
      const [statusLine = '', ...headerLines] = all.slice(0, split).split('\r\n')
      const headers: Record<string, string> = {}
      for (const line of headerLines) {
        const colon = line.indexOf(':')
        headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim()
      }
      resolve({ status: Number(statusLine.split(' ')[1]), headers, body: all.slice(split + 4) })
    })
    setTimeout(() => socket.destroy(), 5000).unref()
  })
}

const request = (
  method: string,
  path: string,
  { headers = {}, body = '' }: { headers?: Record<string, string>; body?: string } = {},
) => {
  const all: Record<string, string> = { host: 'localhost', connection: 'close', ...headers }
  if (body || method === 'POST') all['content-length'] ??= String(Buffer.byteLength(body))
  const head = Object.entries(all).map(([k, v]) => `${k}: ${v}\r\n`)
  return raw(`${method} ${path} HTTP/1.1\r\n${head.join('')}\r\n${body}`)
}

const html = { accept: 'text/html,application/xhtml+xml' }
const json = { 'content-type': 'application/json', 'idempotency-key': 'framework-errors-1' }

/** The log lines written for one request id, once the server has had a moment to write them. */
async function linesOf(reqId: string): Promise<Record<string, unknown>[]> {
  await new Promise((r) => setTimeout(r, 50))
  return logged
    .map((l) => JSON.parse(l) as Record<string, unknown>)
    .filter((l) => l.reqId === reqId)
}

/**
 * What every error answer must have: the status, the security headers, an X-Request-Id that
 * names exactly one log line with that status, and a readable sentence as a page or as JSON.
 * Returns the sentence.
 */
async function expectHandled(
  res: RawResponse,
  status: number,
  as: 'page' | 'json',
): Promise<string> {
  expect(res.status, res.body).toBe(status)
  expect(res.headers['content-security-policy']).toContain("default-src 'self'")
  expect(res.headers['x-content-type-options']).toBe('nosniff')
  expect(res.headers['x-frame-options']).toBe('SAMEORIGIN')
  expect(res.headers['strict-transport-security']).toBeDefined()
  const reqId = res.headers['x-request-id']
  expect(reqId).toMatch(/^[\w.:@-]{1,128}$/)
  const lines = await linesOf(reqId as string)
  expect(
    lines.filter((l) => l.statusCode === status),
    JSON.stringify(lines),
  ).toHaveLength(1)
  let message: string
  if (as === 'page') {
    expect(res.headers['content-type']).toMatch(/^text\/html/)
    message = pageMessages(res.body)[0] ?? ''
  } else {
    const parsed = JSON.parse(res.body) as Record<string, unknown>
    if (String(res.headers['content-type']).startsWith('application/problem+json')) {
      // Under /api: RFC 9457 problem details, keeping statusCode, error and message.
      const members = ['detail', 'error', 'message', 'status', 'statusCode', 'title', 'type']
      const keys = Object.keys(parsed).filter((k) => k !== 'errors')
      expect(keys.sort()).toEqual(members)
      expect(parsed.status).toBe(status)
      expect(parsed.detail).toBe(parsed.message)
      expect(parsed.type).toMatch(/^(tag:|about:blank$)/)
    } else {
      expect(res.headers['content-type']).toMatch(/^application\/json/)
      expect(Object.keys(parsed).sort()).toEqual(['error', 'message', 'statusCode'])
    }
    expect(parsed.statusCode).toBe(status)
    message = String(parsed.message)
  }
  expect(inhumaneMessage(message)).toBeUndefined()
  return message
}

describe('errors Fastify raises before routing (frameworkErrors)', () => {
  it('GET /orders/% for a browser is an HTML page with the headers, the id and a log line', async () => {
    const message = await expectHandled(
      await request('GET', '/orders/%', { headers: html }),
      400,
      'page',
    )
    expect(message).toMatch(/%/)
  })

  it.each([
    ['/api/orders/%', 400],
    ['/orders/%C3%28', 400], // an escape that is not UTF-8
    ['/insights/%E0%A4%A', 400],
    [`/api/orders/${'A'.repeat(150)}`, 414], // over maxParamLength
  ])('GET %s for a program is {statusCode, error, message}', async (path, status) => {
    const headers = { accept: 'application/json' }
    await expectHandled(await request('GET', path, { headers }), status, 'json')
  })

  it("GET /orders/%C3%28 with no Accept, or curl's */*, is the page", async () => {
    for (const headers of [{}, { accept: '*/*' }] as Record<string, string>[]) {
      await expectHandled(await request('GET', '/orders/%C3%28', { headers }), 400, 'page')
    }
  })

  it('a path parameter over the length limit, for a browser, is a page', async () => {
    await expectHandled(
      await request('GET', `/orders/${'A'.repeat(150)}`, { headers: html }),
      414,
      'page',
    )
  })
})

describe('errors Fastify raises while reading the request, outside any handler', () => {
  it.each([
    ['unknown path, browser', 'GET', '/nowhere', html, '', 404, 'page'],
    ['unknown path, program', 'GET', '/api/nowhere', {}, '', 404, 'json'],
    ['unknown method', 'DELETE', '/api/products', {}, '', 405, 'json'],
    [
      'unsupported media type',
      'POST',
      '/api/orders',
      { 'content-type': 'text/xml' },
      '<a/>',
      415,
      'json',
    ],
    ['bad JSON', 'POST', '/api/orders', json, '{"items": [', 400, 'json'],
    ['empty JSON', 'POST', '/api/orders', json, '', 400, 'json'],
    // The form takes urlencoded bodies only: JSON is refused for its type, unread.
    ['bad JSON to the form, browser', 'POST', '/orders', { ...html, ...json }, '{x', 415, 'page'],
    ['body too large', 'POST', '/api/orders', json, `"${'x'.repeat(70_000)}"`, 413, 'json'],
  ] as const)('%s', async (_name, method, path, headers, body, status, as) => {
    await expectHandled(await request(method, path, { headers: { ...headers }, body }), status, as)
  })

  it('a client that resets mid-body gets one log line, no 503 and no "database unavailable"', async () => {
    const before = logged.length
    await new Promise<void>((resolve) => {
      const socket = net.connect(port, '127.0.0.1', () => {
        socket.write(
          'POST /api/orders HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 500\r\n\r\n{"items":',
        )
        setTimeout(() => {
          socket.resetAndDestroy()
          resolve()
        }, 200)
      })
    })
    await new Promise((r) => setTimeout(r, 300))
    const lines = logged.slice(before).map((l) => JSON.parse(l) as Record<string, unknown>)
    expect(lines, JSON.stringify(lines)).toHaveLength(1)
    expect(lines[0]).toMatchObject({ route: '/api/orders', statusCode: 400 })
    expect(JSON.stringify(lines)).not.toMatch(/database unavailable|"statusCode":503/)
  })
})

describe('a body of a type no parser reads (415) says what would be read', () => {
  it.each([
    ['text/xml', /text\/xml cannot be read here: send JSON \(application\/json\)\.$/],
    ['multipart/form-data; boundary=x', /multipart\/form-data/],
    ['', /without a readable type/],
  ])('Content-Type: %s', async (type, expected) => {
    const headers: Record<string, string> = type ? { 'content-type': type } : {}
    const res = await request('POST', '/api/orders', { headers, body: '<a/>' })
    expect(await expectHandled(res, 415, 'json')).toMatch(expected)
  })
})

describe("what Node's HTTP parser refuses before Fastify sees a request", () => {
  /** The parser's answers: JSON, the security headers, a fresh id and one log line with it. */
  async function expectParserAnswer(res: RawResponse, status: number, code: RegExp) {
    expect(res.status, res.body).toBe(status)
    expect(res.headers['content-security-policy']).toContain("default-src 'self'")
    expect(res.headers['x-content-type-options']).toBe('nosniff')
    expect(res.headers.connection).toBe('close')
    const parsed = JSON.parse(res.body) as Record<string, unknown>
    expect(Object.keys(parsed).sort()).toEqual(['error', 'message', 'statusCode'])
    expect(inhumaneMessage(parsed.message)).toBeUndefined()
    const lines = await linesOf(res.headers['x-request-id'] as string)
    expect(lines).toHaveLength(1)
    expect(lines[0]).toMatchObject({
      statusCode: status,
      err: { code: expect.stringMatching(code) },
    })
  }

  it('headers over the limit: 431', async () => {
    const res = await raw(`GET / HTTP/1.1\r\nhost: x\r\nx-big: ${'a'.repeat(20_000)}\r\n\r\n`)
    await expectParserAnswer(res, 431, /^HPE_HEADER_OVERFLOW$/)
  })

  it('an address over the limit: 431', async () => {
    const res = await raw(`GET /${'a'.repeat(20_000)} HTTP/1.1\r\nhost: x\r\n\r\n`)
    await expectParserAnswer(res, 431, /^HPE_HEADER_OVERFLOW$/)
  })

  it.each([
    ['a request line that is not HTTP', 'GARBAGE\r\n\r\n'],
    ['a header name with a space', 'GET / HTTP/1.1\r\nhost: x\r\nbad header: 1\r\n\r\n'],
    [
      'Content-Length and chunked together',
      'POST /api/orders HTTP/1.1\r\nhost: x\r\ncontent-length: 2\r\ntransfer-encoding: chunked\r\n\r\n{}',
    ],
    [
      'a bad chunk size',
      'POST /api/orders HTTP/1.1\r\nhost: x\r\ntransfer-encoding: chunked\r\n\r\nzz\r\n',
    ],
  ])('%s: 400', async (_name, text) => {
    await expectParserAnswer(await raw(text), 400, /^HPE_/)
  })

  it('CONNECT (a proxy tunnel): 501 with the headers and a log line, not a closed socket', async () => {
    const res = await raw('CONNECT example.com:443 HTTP/1.1\r\nhost: example.com:443\r\n\r\n')
    expect(res.status, res.body).toBe(501)
    expect(res.headers['content-security-policy']).toContain("default-src 'self'")
    expect(res.headers.connection).toBe('close')
    expect(JSON.parse(res.body)).toEqual({
      statusCode: 501,
      error: 'Not Implemented',
      message: 'This service is not a proxy: it does not support CONNECT.',
    })
    expect(await linesOf(res.headers['x-request-id'] as string)).toMatchObject([
      { statusCode: 501, method: 'CONNECT', url: 'example.com:443' },
    ])
  })

  it('CONNECT after pipelined requests: theirs answered first, in order, then the 501', async () => {
    const order = JSON.stringify({ items: [{ sku: 'MUG-001', quantity: 1 }], customer })
    const key = crypto.randomUUID()
    const text = await new Promise<string>((resolve) => {
      const socket = net.connect(port, '127.0.0.1', () =>
        socket.write(
          'GET /healthz HTTP/1.1\r\nhost: x\r\n\r\n' +
            `POST /api/orders HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\nidempotency-key: ${key}\r\ncontent-length: ${Buffer.byteLength(order)}\r\n\r\n${order}` +
            'CONNECT example.com:443 HTTP/1.1\r\nhost: example.com:443\r\n\r\n',
        ),
      )
      const chunks: Buffer[] = []
      socket.on('data', (d) => chunks.push(d))
      socket.on('error', () => {})
      socket.on('close', () => resolve(Buffer.concat(chunks).toString('utf8')))
      setTimeout(() => socket.destroy(), 10_000).unref()
    })
    // A JSON body ends without a newline: the next status line follows it on the same line.
    const statuses = [...text.matchAll(/HTTP\/1\.1 (\d{3}) /g)].map((m) => Number(m[1]))
    expect(statuses, text).toEqual([200, 201, 501])
  })

  it('targets other than a path: * is 400 (OPTIONS *: 501), never the form at /; absolute-form goes by its path', async () => {
    for (const [method, status] of [
      ['GET', 400],
      ['HEAD', 400],
      ['POST', 400],
      ['OPTIONS', 501],
    ] as const) {
      const res = await request(method, '*', { headers: { accept: 'application/json' } })
      expect(res.status, method).toBe(status)
      expect(res.headers['content-security-policy']).toContain("default-src 'self'")
      if (method !== 'HEAD') expect(JSON.parse(res.body).message).toMatch(/OPTIONS/)
    }
    // An absolute-form target is routed, and refused, by its path (RFC 9112 §3.2.2).
    const absolute = await request('GET', `http://127.0.0.1:${port}/api/products`)
    expect(absolute.status).toBe(200)
    const wrongMethod = await request('DELETE', `http://127.0.0.1:${port}/api/products`, {
      headers: { accept: 'application/json' },
    })
    expect([wrongMethod.status, wrongMethod.headers.allow]).toEqual([405, 'GET, HEAD'])
    expect(JSON.parse(wrongMethod.body).message).toBe('DELETE is not allowed on /api/products.')
    // Not * alone: a 400 that says what a target is, not one about % escapes.
    for (const target of ['*x', '**', '*/', '*?x=1']) {
      for (const method of ['GET', 'OPTIONS']) {
        const res = await request(method, target, { headers: { accept: 'application/json' } })
        expect(res.status, `${method} ${target}`).toBe(400)
        expect(JSON.parse(res.body).message).toBe(
          'A request target is a path such as /; * alone is for OPTIONS only.',
        )
      }
    }
  })

  it('a request that took too long to arrive: 408', async () => {
    // Node's headersTimeout check runs every 30 s; the error it raises is handed over as Node
    // would hand it, on a real connection.
    const connected = new Promise<net.Socket>((resolve) =>
      app.server.once('connection', (s: net.Socket) => resolve(s)),
    )
    const answer = raw('GET / HTTP/1.1\r\nhost: x\r\n')
    const serverSide = await connected
    await new Promise((r) => setTimeout(r, 50))
    const timeout = Object.assign(new Error('Request timeout'), {
      code: 'ERR_HTTP_REQUEST_TIMEOUT',
    })
    app.server.emit('clientError', timeout, serverSide)
    await expectParserAnswer(await answer, 408, /^ERR_HTTP_REQUEST_TIMEOUT$/)
  })
})

describe('a JSON body with a prototype key (item 10)', () => {
  const order = { items: [{ sku: 'MUG-001', quantity: 1 }], customer }
  it.each([
    ['at the top', `{"__proto__":{"admin":true},${JSON.stringify(order).slice(1)}`],
    [
      'in a line',
      JSON.stringify(order).replace('"quantity":1', '"quantity":1,"__proto__":{"x":1}'),
    ],
    ['in the customer', JSON.stringify(order).replace('"name":', '"__proto__":null,"name":')],
    ['spelled with escapes', `{"\\u005f_proto__":{"admin":true},${JSON.stringify(order).slice(1)}`],
  ])('__proto__ %s is refused, naming __proto__', async (_where, body) => {
    const res = await request('POST', '/api/orders', { headers: json, body })
    const message = await expectHandled(res, 400, 'json')
    expect(message).toMatch(/"__proto__"/)
    expect(message).not.toMatch(/not valid JSON/)
  })

  it('constructor.prototype is refused, naming it', async () => {
    const body = `{"constructor":{"prototype":{"admin":true}},${JSON.stringify(order).slice(1)}`
    const message = await expectHandled(
      await request('POST', '/api/orders', { headers: json, body }),
      400,
      'json',
    )
    expect(message).toMatch(/"constructor".*"prototype"/)
  })

  it('on the form route, as a page: refused for its type before it is read', async () => {
    const res = await request('POST', '/orders', {
      headers: { ...html, ...json },
      body: '{"__proto__":{"admin":true}}',
    })
    expect(await expectHandled(res, 415, 'page')).toMatch(/application\/x-www-form-urlencoded/)
  })

  it('a key that only contains the words is an ordinary key', async () => {
    const body = JSON.stringify({
      ...order,
      customer: { ...customer, name: '__proto__ constructor' },
    })
    const res = await request('POST', '/api/orders', { headers: json, body })
    expect(res.status, res.body).toBe(201)
  })
})

describe('while the service shuts down', () => {
  it('a request arriving on an open connection gets 503 like any other error, not a bare body', async () => {
    const db = await testDatabase()
    const lines: string[] = []
    const config = loadConfig({ NODE_ENV: 'test', LOG_LEVEL: 'info', ...db.env })
    const closing = await buildApp({
      config,
      salesFold: false,
      logStream: { write: (line: string) => void lines.push(line) },
    })
    await closing.listen({ port: 0, host: '127.0.0.1' })
    const { port: closingPort } = closing.server.address() as net.AddressInfo
    try {
      const socket = net.connect(closingPort, '127.0.0.1')
      await new Promise((r) => socket.once('connect', r))
      const chunks: Buffer[] = []
      socket.on('data', (d) => chunks.push(d))
      const ended = new Promise((r) => socket.once('close', r))
      // A request in flight (its body still arriving) keeps the connection open while closing.
      const body = JSON.stringify({ items: [{ sku: 'MUG-001', quantity: 1 }], customer })
      socket.write(
        `POST /api/orders HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\nidempotency-key: shutdown-1\r\ncontent-length: ${body.length}\r\n\r\n${body.slice(0, 10)}`,
      )
      await new Promise((r) => setTimeout(r, 100))
      const closed = closing.close()
      await new Promise((r) => setTimeout(r, 100))
      socket.write(
        `${body.slice(10)}GET /api/products HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n`,
      )
      await Promise.race([ended, new Promise((r) => setTimeout(r, 5000))])
      socket.destroy()
      await closed
      const text = Buffer.concat(chunks).toString()
      const second = text.indexOf('HTTP/1.1 ', 1)
      expect(text.startsWith('HTTP/1.1 201'), text).toBe(true)
      expect(second, text).toBeGreaterThan(0)
      const answer = text.slice(second)
      expect(answer).toMatch(/^HTTP\/1.1 503/)
      expect(answer).toMatch(/\r\ncontent-security-policy: default-src 'self'/i)
      expect(answer).toMatch(/\r\nretry-after: 5\r\n/i)
      const reqId = /\r\nx-request-id: ([^\r]+)/i.exec(answer)?.[1]
      expect(reqId).toBeDefined()
      const json = JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4))
      expect(json).toMatchObject({ statusCode: 503, error: 'Service Unavailable' })
      expect(inhumaneMessage(json.message)).toBeUndefined()
      const logged = lines.map((l) => JSON.parse(l) as Record<string, unknown>)
      expect(logged.filter((l) => l.reqId === reqId && l.statusCode === 503)).toHaveLength(1)
    } finally {
      await db.drop()
    }
  })
})
