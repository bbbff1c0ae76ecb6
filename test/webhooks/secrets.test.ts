import { describe, expect, it } from 'vitest'
import { newSigningSecret } from '../../src/webhooks/secrets.ts'

describe('newSigningSecret', () => {
  it('is whsec_ + base64 of 32 random bytes (Standard Webhooks), new each time', () => {
    const a = newSigningSecret()
    const b = newSigningSecret()
    expect(a).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/)
    expect(Buffer.from(a.slice('whsec_'.length), 'base64')).toHaveLength(32)
    expect(a).not.toBe(b)
  })
})
