import type { AddressInfo } from 'node:net'
import { connect } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildTestApp, customer, type TestApp } from '../helpers/context.ts'
import { addStaff, addToken } from '../helpers/staff.ts'

// Requests as bytes on a socket, for what inject cannot send: `Expect: 100-continue` and a header
// field given twice. `Expect: 100-continue` (RFC 9110 §10.1.1): Node answered 100 Continue to a
// request announcing 10 MB, and 413 only once the client had sent them; now 413 instead of 100.
let t: TestApp
let port: number
beforeAll(async () => {
  t = await buildTestApp({ RATE_LIMIT_MAX: '0' })
  await t.app.listen({ host: '127.0.0.1', port: 0 })
  port = (t.app.server.address() as AddressInfo).port
})
afterAll(() => t?.close())

/** Sends `head`, waits for the first answer's status line, then sends `body` if asked to. */
function exchange(head: string, body?: string): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1')
    let text = ''
    let sent = false
    socket.setEncoding('latin1')
    socket.on('data', (chunk: string) => {
      text += chunk
      if (!sent && body !== undefined && text.startsWith('HTTP/1.1 100')) {
        sent = true
        socket.write(body)
      }
      if (
        /\r\n\r\n[\s\S]*\r\n\r\n/.test(text) ||
        (!text.startsWith('HTTP/1.1 100') && text.includes('\r\n\r\n'))
      ) {
        socket.end()
      }
    })
    socket.on('end', () => resolve(text.split('\r\n').filter((l) => l.startsWith('HTTP/1.1'))))
    socket.on('error', reject)
    socket.setTimeout(15_000, () => reject(new Error(`no answer: ${text}`)))
    socket.write(head)
  })
}

describe('Expect: 100-continue', () => {
  it('a body announced over the limit: 413 at once, no 100 Continue', async () => {
    const lines = await exchange(
      'POST /api/orders HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 10000000\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n',
    )
    expect(lines).toEqual(['HTTP/1.1 413 Payload Too Large'])
  })

  it('a body within the limit: 100 Continue, then the order', async () => {
    const body = JSON.stringify({ items: [{ sku: 'MUG-001', quantity: 1 }], customer })
    const lines = await exchange(
      `POST /api/orders HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nIdempotency-Key: expect-continue-1\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n`,
      body,
    )
    expect(lines).toEqual(['HTTP/1.1 100 Continue', 'HTTP/1.1 201 Created'])
  })
})

// Another expectation than 100-continue: Node answered it a bare 417 (no body, no Content-Type),
// before any route. The service meets or refuses no other, so the request is served as sent.
describe('Expect: something else', () => {
  it('is served as if not sent: the order placed, the page and the problem as usual', async () => {
    const body = JSON.stringify({ items: [{ sku: 'MUG-001', quantity: 1 }], customer })
    const placed = await whole(
      `POST /api/orders HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nIdempotency-Key: expect-other-1\r\nExpect: bogus\r\nConnection: close\r\n\r\n${body}`,
    )
    expect(placed).toMatch(/^HTTP\/1\.1 201 /)
    expect(placed).toContain('"status":"placed"')
    const page = await whole('GET / HTTP/1.1\r\nHost: x\r\nExpect:\r\nConnection: close\r\n\r\n')
    expect(page).toMatch(/^HTTP\/1\.1 200 /)
    expect(page).toMatch(/content-type: text\/html/i)
    const missing = await whole(
      'GET /api/orders/ZZZZZ-ZZZZZ HTTP/1.1\r\nHost: x\r\nExpect: 200-ok\r\nConnection: close\r\n\r\n',
    )
    expect(missing).toMatch(/^HTTP\/1\.1 404 /)
    expect(missing).toMatch(/content-type: application\/problem\+json/i)
  })
})

// RFC 9110 §5.3: Content-Type is no list; Node kept the first of two lines and dropped the
// other, so a body declared both JSON and text was read as JSON.
describe('Content-Type given twice', () => {
  it('is 400 saying so, and no order is placed', async () => {
    const body = JSON.stringify({ items: [{ sku: 'MUG-001', quantity: 1 }], customer })
    const lines = await exchange(
      `POST /api/orders HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Type: text/plain\r\nContent-Length: ${Buffer.byteLength(body)}\r\nIdempotency-Key: type-twice-1\r\nConnection: close\r\n\r\n${body}`,
    )
    expect(lines).toEqual(['HTTP/1.1 400 Bad Request'])
    const placed = await t.app.db
      .selectFrom('orders')
      .select('id')
      .where('idempotency_key', '=', 'type-twice-1')
      .execute()
    expect(placed).toEqual([])
  })
})

/** Sends `request` and reads the whole answer until the service closes the connection. */
function whole(request: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1')
    let text = ''
    socket.setEncoding('latin1')
    socket.on('data', (chunk: string) => {
      text += chunk
    })
    socket.on('end', () => resolve(text))
    socket.on('error', reject)
    socket.setTimeout(15_000, () => reject(new Error(`no answer: ${text}`)))
    socket.write(request)
  })
}

// RFC 9112 §3.2: 400 to a request with more than one Host line, and to an HTTP/1.1 request with
// none. Node kept the first of two Hosts (200); it answered a missing one with a bare 400.
describe('Host', () => {
  it('given twice: 400 saying so, as problem details under /api and as a page', async () => {
    const api = await whole('GET /api/products HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n')
    expect(api).toMatch(/^HTTP\/1\.1 400 /)
    expect(api).toMatch(/content-type: application\/problem\+json/i)
    expect(api).toContain('The request has more than one Host header: send it once.')
    const page = await whole('GET / HTTP/1.1\r\nHost: a\r\nhost: a\r\nAccept: text/html\r\n\r\n')
    expect(page).toMatch(/^HTTP\/1\.1 400 /)
    expect(page).toMatch(/content-type: text\/html/i)
    expect(page).toContain('more than one Host header')
    const listed = await whole('GET /api/products HTTP/1.1\r\nHost: a, b\r\n\r\n')
    expect(listed).toMatch(/^HTTP\/1\.1 400 /)
    expect(listed).toContain('more than one Host header')
  })

  it('missing from an HTTP/1.1 request: 400 with a sentence, not an empty body', async () => {
    const res = await whole('GET /api/products HTTP/1.1\r\nConnection: close\r\n\r\n')
    expect(res).toMatch(/^HTTP\/1\.1 400 /)
    expect(res).toContain('The request has no Host header')
    expect(res).toMatch(/x-request-id: /i)
  })

  it('once, or left out by HTTP/1.0: answered as usual', async () => {
    expect(await whole('GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')).toMatch(
      /^HTTP\/1\.1 200 /,
    )
    expect(await whole('GET /healthz HTTP/1.0\r\n\r\n')).toMatch(/^HTTP\/1\.1 200 /)
  })
})

// Node keeps the first of two Authorization lines: an admin's token then a clerk's was served as
// the admin. Refused where a request is authenticated (test/staff/authorization-once.test.ts).
describe('Authorization', () => {
  it('given twice on the staff API: 400 saying so', async () => {
    const admin = await addToken(t.app, await addStaff(t.app, 'boss@example.com', 'admin'))
    const clerk = await addToken(t.app, await addStaff(t.app, 'clerk@example.com', 'staff'))
    const res = await whole(
      `GET /api/admin/me HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${admin}\r\nauthorization: Bearer ${clerk}\r\nConnection: close\r\n\r\n`,
    )
    expect(res).toMatch(/^HTTP\/1\.1 400 /)
    expect(res).toMatch(/www-authenticate: Bearer realm="admin", error="invalid_request"/i)
    expect(res).toContain('The request has more than one Authorization header: send it once.')
    const once = await whole(
      `GET /api/admin/me HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${clerk}\r\nConnection: close\r\n\r\n`,
    )
    expect(once).toMatch(/^HTTP\/1\.1 200 /)
  })
})
