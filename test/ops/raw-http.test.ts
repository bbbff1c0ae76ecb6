import type { AddressInfo } from 'node:net'
import { connect } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildTestApp, customer, type TestApp } from '../helpers/context.ts'

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
