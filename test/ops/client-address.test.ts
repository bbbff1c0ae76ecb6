import { randomUUID } from 'node:crypto'
import Fastify from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { loadConfig } from '../../src/config.ts'
import clientAddress, { trustProxy, withoutPorts } from '../../src/plugins/client-address.ts'
import { throttle } from '../../src/staff/sign-in.ts'
import { buildTestApp, customer, type TestApp } from '../helpers/context.ts'
import { postSignIn } from '../helpers/staff.ts'

// Azure's front ends write X-Forwarded-For entries as `ip:port` (src/plugins/client-address.ts):
// a client is its address, whatever port each of its connections came from.

/** A bare Fastify with the plugin, as app.ts sets it up: answers and logs request.ip and .ips. */
async function echo(TRUST_PROXY: string) {
  const lines: Record<string, unknown>[] = []
  const stream = { write: (line: string) => void lines.push(JSON.parse(line)) }
  const app = Fastify({ trustProxy: trustProxy(TRUST_PROXY), logger: { level: 'info', stream } })
  await app.register(clientAddress, { config: loadConfig({ TRUST_PROXY }) })
  app.get('/ip', async (request) => {
    request.log.info({ client: request.ip }, 'client')
    return { ip: request.ip, ips: request.ips, header: request.headers['x-forwarded-for'] ?? null }
  })
  await app.ready()
  const ask = async (forwarded?: string) => {
    const headers = forwarded === undefined ? {} : { 'x-forwarded-for': forwarded }
    return (await app.inject({ url: '/ip', headers })).json() as {
      ip: string
      ips: string[]
      header: string | null
    }
  }
  return { app, lines, ask }
}

describe('X-Forwarded-For entries without their ports', () => {
  it('drops the port of IPv4 and bracketed IPv6 entries, leaves bare addresses as they are', () => {
    expect(withoutPorts('203.0.113.5:51234')).toBe('203.0.113.5')
    expect(withoutPorts('[2001:db8::1]:51234')).toBe('2001:db8::1')
    expect(withoutPorts('[2001:db8::1]')).toBe('2001:db8::1')
    for (const bare of ['203.0.113.5', '2001:db8::1', '::1', '::ffff:192.0.2.1', 'unknown']) {
      expect(withoutPorts(bare)).toBe(bare)
    }
    expect(withoutPorts('198.51.100.7:1, 2001:db8::2,[2001:db8::3]:443 ,203.0.113.5:51234')).toBe(
      '198.51.100.7, 2001:db8::2,2001:db8::3,203.0.113.5',
    )
    // Not an address with a port: kept whole rather than guessed at.
    expect(withoutPorts('203.0.113.5:port')).toBe('203.0.113.5:port')
  })

  it('request.ip and request.ips, and the log lines that carry them, have no port', async () => {
    const { app, lines, ask } = await echo('1')
    try {
      expect(await ask('203.0.113.5:51234')).toEqual({
        ip: '203.0.113.5',
        ips: ['127.0.0.1', '203.0.113.5'],
        header: '203.0.113.5',
      })
      expect((await ask('[2001:db8::1]:51234')).ip).toBe('2001:db8::1')
      expect((await ask('2001:db8::1')).ip).toBe('2001:db8::1')
      expect((await ask('::ffff:192.0.2.1')).ip).toBe('::ffff:192.0.2.1')
      expect((await ask()).ip).toBe('127.0.0.1')
      const logged = lines.filter((l) => l.msg === 'client').map((l) => l.client)
      expect(logged).toEqual([
        '203.0.113.5',
        '2001:db8::1',
        '2001:db8::1',
        '::ffff:192.0.2.1',
        '127.0.0.1',
      ])
    } finally {
      await app.close()
    }
  })

  it('still trusts only TRUST_PROXY hops: a spoofed leftmost entry is not the client', async () => {
    const one = await echo('1')
    const two = await echo('2')
    try {
      const forwarded = '198.51.100.66:1, 203.0.113.5:51234'
      expect((await one.ask(forwarded)).ip).toBe('203.0.113.5')
      expect((await one.ask(forwarded)).ips).toEqual(['127.0.0.1', '203.0.113.5'])
      // Two front ends (Front Door before App Service): the second entry from the right.
      expect((await two.ask(`${forwarded}, 10.0.0.4:443`)).ip).toBe('203.0.113.5')
    } finally {
      await one.app.close()
      await two.app.close()
    }
  })

  it('leaves the header alone when no front end is trusted', async () => {
    const { app, ask } = await echo('false')
    try {
      expect(await ask('203.0.113.5:51234')).toMatchObject({
        ip: '127.0.0.1',
        header: '203.0.113.5:51234',
      })
    } finally {
      await app.close()
    }
  })
})

describe('behind one trusted front end that writes ports (TRUST_PROXY=1)', () => {
  let t: TestApp
  beforeAll(async () => {
    t = await buildTestApp({ RATE_LIMIT_MAX: '2', LOOKUP_MISS_MAX: '2', TRUST_PROXY: '1' })
  })
  afterAll(() => t?.close())

  const order = (forwarded: string) =>
    t.app.inject({
      method: 'POST',
      url: '/api/orders',
      headers: { 'idempotency-key': randomUUID(), 'x-forwarded-for': forwarded },
      payload: { items: [{ sku: 'MUG-001', quantity: 1 }], customer },
    })
  const statuses = async (forwarded: string[]) => {
    const out: number[] = []
    for (const f of forwarded) out.push((await order(f)).statusCode)
    return out
  }

  it('rate limits orders per client address, whatever port each connection came from', async () => {
    // IPv4 over four ports; IPv6 bracketed with a port, and bare: one client each.
    const clients = [
      ['203.0.113.5:51234', '203.0.113.5:51235', '203.0.113.5:51236', '203.0.113.5'],
      ['[2001:db8::1]:51234', '[2001:db8::1]:51235', '2001:db8::1', '[2001:db8::1]:9'],
    ]
    for (const entries of clients) {
      expect(await statuses(entries), entries[0]).toEqual([201, 201, 429, 429])
    }
    // Another address has a budget of its own.
    expect(await statuses(['203.0.113.6:51234'])).toEqual([201])
  })

  it('a spoofed leftmost entry buys no new budget', async () => {
    expect(
      await statuses([
        '198.51.100.1:1, 203.0.113.7:40000',
        '198.51.100.2, 203.0.113.7:40001',
        '[2001:db8::66]:1, 203.0.113.7:40002',
      ]),
    ).toEqual([201, 201, 429])
  })

  it('counts order lookups that find nothing per address, whatever the port', async () => {
    const statuses: number[] = []
    for (const [i, forwarded] of ['203.0.113.8:1', '203.0.113.8:2', '203.0.113.8:3'].entries()) {
      const url = `/api/orders/00000-${String(i).padStart(5, '0')}`
      statuses.push(
        (await t.app.inject({ url, headers: { 'x-forwarded-for': forwarded } })).statusCode,
      )
    }
    expect(statuses).toEqual([404, 404, 429])
  })

  it('the sign-in throttle counts attempts per address, whatever the port', async () => {
    const db = t.app.db
    await db.deleteFrom('staff_login_attempts').execute()
    const attempt = (forwarded: string, i: number) =>
      postSignIn(
        t.app,
        { email: `nobody${i}@example.com`, password: 'not a password of anyone' },
        { 'x-forwarded-for': forwarded },
      )
    expect((await attempt('203.0.113.9:40001', 1)).statusCode).toBe(400)
    expect((await attempt('203.0.113.9:40002', 2)).statusCode).toBe(400)
    expect((await attempt('[2001:db8::9]:40003', 3)).statusCode).toBe(400)
    const rows = await db
      .selectFrom('staff_login_attempts')
      .select('address')
      .orderBy('id')
      .execute()
    expect(rows.map((r) => r.address)).toEqual(['203.0.113.9', '203.0.113.9', '2001:db8::9'])
    // Up to the limit for 203.0.113.9; one more, from yet another port, is refused.
    for (let i = 2; i < throttle.perAddress; i++) {
      await db
        .insertInto('staff_login_attempts')
        .values({ email: `x${i}@example.com`, address: '203.0.113.9' })
        .execute()
    }
    const held = await attempt('203.0.113.9:40004', 4)
    expect(held.statusCode).toBe(429)
    expect(held.headers['retry-after']).toBe(String(throttle.windowSeconds))
    await db.deleteFrom('staff_login_attempts').execute()
  })
})
