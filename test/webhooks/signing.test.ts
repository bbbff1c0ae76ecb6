import { Webhook } from 'standardwebhooks'
import { describe, expect, it } from 'vitest'
import { eventBody, signatureHeaders } from '../../src/webhooks/deliver.ts'
import { newSigningSecret } from '../../src/webhooks/secrets.ts'

// deliver.ts signs with node:crypto; the specification's library (standardwebhooks) is what a
// receiver verifies with: every signature made here must verify there, and only there.
describe('signatureHeaders (node:crypto) against the standardwebhooks library', () => {
  const now = new Date()
  const bodies = [
    '{}',
    eventBody({
      publicId: '3f2c8a9e-5b1d-4c6f-9a0e-7d4b2e1f8c35',
      type: 'order.placed',
      createdAt: new Date('2026-11-29T18:53:16.006Z'),
      dataJson: '{"note": "ünïcode ✓ \\"quoted\\"", "totalCents": 1999}',
    }),
    `{"data":"${'x'.repeat(100_000)}"}`,
  ]
  // Secrets of several lengths (the library decodes any base64; ours are 32 bytes).
  const secrets = [
    newSigningSecret(),
    newSigningSecret(),
    `whsec_${Buffer.alloc(1, 255).toString('base64')}`,
    `whsec_${Buffer.from('a 64-byte key, longer than one SHA-256 block: 0123456789abcdef!!').toString('base64')}`,
  ]

  it('makes signatures the library verifies, and the library would make itself', () => {
    for (const secret of secrets) {
      for (const body of bodies) {
        const headers = signatureHeaders(secret, 'evt_42', body, now)
        expect(headers['webhook-id']).toBe('evt_42')
        expect(headers['webhook-timestamp']).toBe(String(Math.floor(now.getTime() / 1000)))
        expect(new Webhook(secret).verify(body, headers)).toEqual(JSON.parse(body))
        expect(headers['webhook-signature']).toBe(new Webhook(secret).sign('evt_42', now, body))
      }
    }
  })

  it('is refused by the library for another secret, body, id or timestamp', () => {
    const [secret, other] = secrets as [string, string]
    const body = bodies[1] as string
    const headers = signatureHeaders(secret, 'evt_42', body, now)
    expect(() => new Webhook(other).verify(body, headers)).toThrow(/No matching signature/)
    expect(() => new Webhook(secret).verify(body.replace('1999', '1998'), headers)).toThrow(
      /No matching signature/,
    )
    expect(() => new Webhook(secret).verify(body, { ...headers, 'webhook-id': 'evt_43' })).toThrow(
      /No matching signature/,
    )
    const later = String(Number(headers['webhook-timestamp']) + 1)
    expect(() =>
      new Webhook(secret).verify(body, { ...headers, 'webhook-timestamp': later }),
    ).toThrow(/No matching signature/)
  })

  it('signs with the previous secret too, after the current one, when given (a rotation)', () => {
    const [secret, previous, other] = secrets as [string, string, string]
    const body = bodies[1] as string
    const headers = signatureHeaders(secret, 'evt_42', body, now, previous)
    const [first, second, ...more] = (headers['webhook-signature'] as string).split(' ')
    expect(more).toEqual([])
    // The spec's list: `v1,<base64>` entries, space-delimited, each verifying with its own secret.
    expect(first).toBe(new Webhook(secret).sign('evt_42', now, body))
    expect(second).toBe(new Webhook(previous).sign('evt_42', now, body))
    expect(new Webhook(secret).verify(body, headers)).toEqual(JSON.parse(body))
    expect(new Webhook(previous).verify(body, headers)).toEqual(JSON.parse(body))
    expect(() => new Webhook(other).verify(body, headers)).toThrow(/No matching signature/)
    // None (null, as the claim gives it outside a window): the current secret's alone.
    expect(signatureHeaders(secret, 'evt_42', body, now, null)).toEqual(
      signatureHeaders(secret, 'evt_42', body, now),
    )
    expect(signatureHeaders(secret, 'evt_42', body, now)['webhook-signature']).toBe(first)
  })

  it('refuses a secret the library refuses, without saying the secret', () => {
    for (const bad of ['whsec_', 'whsec_not base64!', 'whsec_abc']) {
      expect(() => new Webhook(bad)).toThrow()
      expect(() => signatureHeaders(bad, 'evt_1', '{}', now)).toThrow(
        /^the endpoint secret is not a valid whsec_ secret$/,
      )
      expect(() => signatureHeaders(newSigningSecret(), 'evt_1', '{}', now, bad)).toThrow(
        /^the endpoint secret is not a valid whsec_ secret$/,
      )
    }
  })
})

describe('eventBody', () => {
  it('is the envelope {type, timestamp, data} with the stored JSON as data, byte for byte', () => {
    const dataJson = '{"items": [{"sku": "KNF-008", "quantity": 1}], "note": "a\\nb ✓"}'
    const body = eventBody({
      publicId: '3f2c8a9e-5b1d-4c6f-9a0e-7d4b2e1f8c36',
      type: 'order.placed',
      createdAt: new Date('2026-11-29T18:53:16.006Z'),
      dataJson,
    })
    expect(JSON.parse(body)).toEqual({
      type: 'order.placed',
      timestamp: '2026-11-29T18:53:16.006Z',
      data: { items: [{ sku: 'KNF-008', quantity: 1 }], note: 'a\nb ✓' },
    })
    expect(body.endsWith(`"data":${dataJson}}`)).toBe(true)
  })
})
