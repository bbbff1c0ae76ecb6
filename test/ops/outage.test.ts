import { randomUUID } from 'node:crypto'
import { createServer, type Server, type Socket, connect as tcpConnect } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type App, buildApp } from '../../src/app.ts'
import { loadConfig } from '../../src/config.ts'
import { customer, testDatabase, usingPostgres } from '../helpers/context.ts'

/**
 * A TCP proxy in front of PostgreSQL that the test can break: `refuse` (nothing listens, and
 * every open connection is cut), `hang` (connections are accepted and then nothing happens, like
 * a server that stopped answering) and `forward` (back to normal). The shared cluster itself is
 * never touched.
 */
class FlakyProxy {
  mode: 'forward' | 'refuse' | 'hang' = 'forward'
  port = 0
  #server: Server | undefined
  #sockets = new Set<Socket>()
  readonly #upstream: { host: string; port: number }

  constructor(upstream: { host: string; port: number }) {
    this.#upstream = upstream
  }

  async listen(): Promise<void> {
    const server = createServer((client) => {
      this.#track(client)
      if (this.mode === 'hang') return
      const upstream = tcpConnect(this.#upstream.port, this.#upstream.host)
      this.#track(upstream)
      client.pipe(upstream).pipe(client)
      const end = () => {
        client.destroy()
        upstream.destroy()
      }
      client.on('error', end).on('close', end)
      upstream.on('error', end).on('close', end)
    })
    await new Promise<void>((resolve) => server.listen(this.port, '127.0.0.1', resolve))
    const address = server.address()
    if (typeof address === 'object' && address) this.port = address.port
    this.#server = server
  }

  async set(mode: 'forward' | 'refuse' | 'hang'): Promise<void> {
    this.mode = mode
    for (const s of this.#sockets) s.destroy()
    if (mode === 'refuse') await this.close()
    else if (!this.#server) await this.listen()
  }

  async close(): Promise<void> {
    for (const s of this.#sockets) s.destroy()
    const server = this.#server
    this.#server = undefined
    if (server) await new Promise((r) => server.close(r))
  }

  #track(socket: Socket) {
    this.#sockets.add(socket)
    socket.on('close', () => this.#sockets.delete(socket))
  }
}

describe.skipIf(!usingPostgres)(
  'when PostgreSQL goes away (PostgreSQL only: a proxy cuts it)',
  () => {
    let app: App
    let proxy: FlakyProxy
    let drop: () => Promise<void>
    let config: ReturnType<typeof loadConfig>

    beforeAll(async () => {
      const db = await testDatabase()
      drop = db.drop
      const url = new URL(db.env.DATABASE_URL as string)
      proxy = new FlakyProxy({ host: url.hostname, port: Number(url.port || 5432) })
      await proxy.listen()
      url.port = String(proxy.port)
      config = loadConfig({
        NODE_ENV: 'test',
        LOG_LEVEL: 'silent',
        DATABASE_URL: url.toString(),
        FOLD_INTERVAL_MS: '100',
        RATE_LIMIT_MAX: '0',
        // About the database's outage: on a loaded machine the event-loop check would answer
        // some requests its own 503 (Retry-After 10) first.
        MAX_EVENT_LOOP_DELAY_MS: '0',
      })
      app = await buildApp({ config, salesFold: true })
      await app.ready()
    })
    afterAll(async () => {
      await app?.close()
      await proxy?.close()
      await drop?.()
    })

    const order = () =>
      app.inject({
        method: 'POST',
        url: '/api/orders',
        headers: { 'idempotency-key': randomUUID() },
        payload: { items: [{ sku: 'MUG-001', quantity: 1 }], customer },
      })
    const timed = async <T>(f: () => Promise<T>) => {
      const start = performance.now()
      const value = await f()
      return { value, ms: performance.now() - start }
    }

    it('fails fast with 503, says not ready, and recovers by itself', async () => {
      const placed = await order()
      expect(placed.statusCode).toBe(201)
      const orderNumber = placed.json().orderNumber as string

      // Refused: the server is down, every connection cut.
      await proxy.set('refuse')
      const refused = await timed(() => Promise.all(Array.from({ length: 20 }, order)))
      for (const res of refused.value) {
        expect(res.statusCode).toBe(503)
        expect(res.headers['retry-after']).toBe('5')
        expect(res.json().message).toMatch(/try again/)
      }
      expect(refused.ms).toBeLessThan(3000)
      // An order this instance has not seen (its own recent ones are answered from memory).
      const lookup = await app.inject('/api/orders/ABCDE-FGHJK')
      expect(lookup.statusCode).toBe(503)
      const page = await app.inject({
        url: '/orders/ABCDE-FGHJK',
        headers: { accept: 'text/html' },
      })
      expect(page.statusCode).toBe(503)
      expect(page.headers['content-type']).toContain('text/html')
      expect((await app.inject('/readyz')).statusCode).toBe(503)
      expect((await app.inject('/healthz')).statusCode).toBe(200)

      // Hanging: connections open but nothing answers. The connect timeout still fails it fast.
      await proxy.set('hang')
      const hung = await timed(() => Promise.all(Array.from({ length: 20 }, order)))
      for (const res of hung.value) expect(res.statusCode).toBe(503)
      expect(hung.ms).toBeLessThan(3500)
      const ready = await timed(() => app.inject('/readyz'))
      expect(ready.value.statusCode).toBe(503)
      expect(ready.ms).toBeLessThan(3000)
      const scrape = await timed(() => app.inject('/metrics'))
      expect(scrape.value.statusCode).toBe(200)
      expect(scrape.value.body).toMatch(/^insights_freshness_seconds nan$/im)
      expect(scrape.ms).toBeLessThan(2000)

      // Back: no restart, the pool reconnects on its own.
      await proxy.set('forward')
      let again = await order()
      for (let i = 0; i < 50 && again.statusCode !== 201; i++) {
        await new Promise((r) => setTimeout(r, 100))
        again = await order()
      }
      expect(again.statusCode).toBe(201)
      expect((await app.inject('/readyz')).statusCode).toBe(200)
      expect((await app.inject(`/api/orders/${orderNumber}`)).statusCode).toBe(200)
      const burst = await Promise.all(Array.from({ length: 20 }, order))
      expect(burst.map((r) => r.statusCode)).toEqual(Array(20).fill(201))
    })

    it('gives a shopper their typed form back (503, same key), and the retry places it once', async () => {
      // A second instance that never read the catalogue: nothing to list during the outage.
      const cold = await buildApp({ config, salesFold: false })
      await cold.ready()
      try {
        // The catalogue read while the database answers (a pool may first meet a cut socket).
        let home = await app.inject({ url: '/', headers: { accept: 'text/html' } })
        for (let i = 0; i < 50 && home.statusCode !== 200; i++) {
          await new Promise((r) => setTimeout(r, 100))
          home = await app.inject({ url: '/', headers: { accept: 'text/html' } })
        }
        expect(home.statusCode).toBe(200)
        const key = randomUUID()
        const fields = new URLSearchParams({
          idempotencyKey: key,
          'qty-MUG-001': '1',
          name: 'Ada Lovelace',
          email: 'ada@example.com',
          address: '12 Main',
          city: 'Austin',
          state: 'TX',
          zip: '78701',
        }).toString()
        const submit = (to: App) =>
          to.inject({
            method: 'POST',
            url: '/orders',
            headers: { accept: 'text/html', 'content-type': 'application/x-www-form-urlencoded' },
            payload: fields,
          })

        await proxy.set('refuse')
        await new Promise((r) => setTimeout(r, 1100)) // past the catalogue's second
        for (const [which, res] of [
          ['warm', await submit(app)],
          ['cold', await submit(cold)],
        ] as const) {
          expect(res.statusCode, which).toBe(503)
          expect(res.headers['retry-after'], which).toBe('5')
          expect(res.headers['content-type'], which).toContain('text/html')
          expect(res.body, which).toContain('could not take your order just now')
          expect(res.body.match(/role="alert"/g), which).toHaveLength(1)
          expect(res.body, which).toContain(`name="idempotencyKey" value="${key}"`)
          for (const typed of ['Ada Lovelace', 'ada@example.com', '12 Main', 'Austin', '78701']) {
            expect(res.body, which).toContain(`value="${typed}"`)
          }
          expect(res.body, which).toMatch(/<option value="TX" selected>/)
          expect(res.body, which).toMatch(
            /name="qty-MUG-001" [^>]*value="1"|name="qty-MUG-001" value="1"/,
          )
        }
        // The warm instance still shows the catalogue it read last; the cold one says it cannot.
        const warm = await submit(app)
        expect(warm.body).toContain('Enamel Camp Mug')
        expect(warm.body).toMatch(/<input id="qty-MUG-001"[^>]* value="1"/)
        expect((await submit(cold)).body).toContain('The product list cannot be shown just now')
        const down = await app.inject({ url: '/', headers: { accept: 'text/html' } })
        expect(down.statusCode).toBe(200)

        // Back: the same form, sent again (twice), makes one order.
        await proxy.set('forward')
        let placed = await submit(cold)
        for (let i = 0; i < 50 && placed.statusCode !== 303; i++) {
          await new Promise((r) => setTimeout(r, 100))
          placed = await submit(cold)
        }
        expect(placed.statusCode).toBe(303)
        const again = await submit(app)
        expect(again.statusCode).toBe(303)
        expect(again.headers.location).toBe(placed.headers.location)
        const stored = await app.db
          .selectFrom('orders')
          .select((eb) => eb.fn.countAll<string>().as('n'))
          .where('idempotency_key', '=', `form:${key}`)
          .executeTakeFirstOrThrow()
        expect(Number(stored.n)).toBe(1)
      } finally {
        await proxy.set('forward')
        await cold.close()
      }
    })
  },
)
