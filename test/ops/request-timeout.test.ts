import net from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildTestApp, type TestApp } from '../helpers/context.ts'

// A newcomer's review: Fastify's requestTimeout defaulted to 0, so a client that sent
// `Content-Length: 100` and then only `{}` still held its connection after 330 s (slowloris).
// REQUEST_TIMEOUT_MS bounds the time a request may take to arrive whole; Node then answers 408.

let t: TestApp
let port = 0

beforeAll(async () => {
  t = await buildTestApp({ REQUEST_TIMEOUT_MS: '1000' })
  await t.app.listen({ port: 0, host: '127.0.0.1' })
  const address = t.app.server.address()
  port = typeof address === 'object' && address ? address.port : 0
})
afterAll(async () => {
  await t?.close()
})

/** Writes `text` on a new connection; resolves with what came back and when the server closed. */
function hold(text: string): Promise<{ answer: string; closedAfterMs: number }> {
  const started = Date.now()
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1', () => socket.write(text))
    const chunks: Buffer[] = []
    socket.on('data', (d) => chunks.push(d))
    socket.on('error', () => {})
    socket.on('close', () =>
      resolve({
        answer: Buffer.concat(chunks).toString('utf8'),
        closedAfterMs: Date.now() - started,
      }),
    )
    // Far past the bound: the test fails on its expectations, not on vitest's timeout.
    setTimeout(() => socket.destroy(), 10_000).unref()
  })
}

describe('a request that never arrives whole', () => {
  it('a body shorter than its Content-Length: 408 and the connection closed', async () => {
    const { answer, closedAfterMs } = await hold(
      'POST /api/orders HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n{}',
    )
    expect(answer).toMatch(/^HTTP\/1\.1 408 /)
    expect(answer).toContain('The request took too long to arrive')
    // The timeout plus one checking interval (a tenth of it), with room for a busy machine.
    expect(closedAfterMs).toBeGreaterThanOrEqual(900)
    expect(closedAfterMs).toBeLessThan(5000)
  })

  it('headers that never end: 408 too', async () => {
    const { answer, closedAfterMs } = await hold('GET / HTTP/1.1\r\nhost: x\r\n')
    expect(answer).toMatch(/^HTTP\/1\.1 408 /)
    expect(closedAfterMs).toBeLessThan(5000)
  })

  it('a request that arrives in time is answered as usual', async () => {
    const { answer } = await hold('GET /healthz HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n')
    expect(answer).toMatch(/^HTTP\/1\.1 200 /)
  })
})
